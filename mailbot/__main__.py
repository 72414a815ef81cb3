"""`python -m mailbot` is the `mailbot` command."""

from mailbot.cli import main

if __name__ == "__main__":
    main()
