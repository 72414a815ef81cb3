"""What an admin runs beside the daemon, over the same pipeline and stages: `reconcile`
(mailbox against database, any Source), `rematch` (match senders again after a registry
import), `purge` (retention) and `export` (a person's data), `reports` and `annual` (what the
service charter asks an office to publish), `doctor` (`mailbot check`) with `samples` (every
template rendered with made-up values). Nothing here runs in the daemon's loops; the CLI is
their only caller.
"""
