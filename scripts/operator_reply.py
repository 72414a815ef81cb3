"""Reply to a case's office notification as an operator would from a mail client: demo helper.

Finds the notification of case NUMBER among the .eml files mailbot "sent" (the demo's outbox
directory), writes the operator's reply with the usual quote of the message it answers
(In-Reply-To and References to the notification, "Il giorno … ha scritto:" and "> " lines, a
signature) and delivers it into the mailbox's Maildir, as a mail server would.

Usage: python scripts/operator_reply.py SENT_DIR MAILDIR NUMBER OPERATOR TEXT
"""

import mailbox
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, localtime, make_msgid
from pathlib import Path


def notification_of(sent: Path, number: str) -> EmailMessage:
    for path in sorted(sent.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        subject = str(message["Subject"] or "")
        ours = f"[Pratica {number}]" in subject and message["Auto-Submitted"] == "auto-generated"
        if ours and ("Nuova pratica" in subject or "New case" in subject):
            return message  # type: ignore[return-value]
    sys.exit(f"no notification of case {number} in {sent}")


def reply(notification: EmailMessage, operator: str, text: str) -> EmailMessage:
    body = notification.get_body(("plain",))
    quoted = "\n".join(f"> {line}".rstrip() for line in body.get_content().splitlines())
    sent_on = notification["Date"].datetime.strftime("%d/%m/%Y %H:%M")
    answer = EmailMessage()
    answer["From"] = operator
    answer["To"] = str(notification["Reply-To"] or notification["From"])
    answer["Subject"] = f"Re: {notification['Subject']}"
    answer["Date"] = format_datetime(localtime())
    answer["Message-ID"] = make_msgid(domain=operator.rpartition("@")[2].rstrip(">"))
    answer["In-Reply-To"] = notification["Message-ID"]
    answer["References"] = notification["Message-ID"]
    signature = "--\nMario Rossi\nUfficio Relazioni con il Pubblico"
    answer.set_content(
        f"{text}\n\n{signature}\n\nIl giorno {sent_on}, {notification['From']} ha scritto:\n"
        f"{quoted}\n"
    )
    return answer


def main() -> None:
    sent, maildir, number, operator, text = sys.argv[1:6]
    message = reply(notification_of(Path(sent), number), operator, text.replace("\\n", "\n"))
    mailbox.Maildir(maildir, create=True).add(mailbox.MaildirMessage(message.as_bytes()))
    print(f"{operator} replied to the notification of case {number}")


if __name__ == "__main__":
    main()
