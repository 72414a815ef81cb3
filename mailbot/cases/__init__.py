"""What each kind of mail does to a case, inside the message's transaction: a citizen's new
mail opens a case (confirmation to the citizen, notification to the office); a follow-up joins
its case and is forwarded to the office; an operator's answer is stripped of quoted history,
its commands applied, and the rest relayed to the citizen from the mailbox's address.

The pipeline decides which of these applies; the CLI's `workorders reply|note|assign|close|
reopen` go through `apply_operator_message` too, so email and command line behave the same.

One module per flow (`intake`, `operator`, `delivery_reports`, `certify`) over what they
share (`messages`, `notices`, `attachments`) and the case record itself (`workorders`,
`numbering`, `views`); `reminders` and `transcript` act on cases outside a message. Callers import
the module they need: this package re-exports nothing, so a low module such as `services`
can import `mailbot.cases.workorders` without pulling in the flows above it.

Deviation from DESIGN.md, on purpose: DESIGN draws the pipeline calling the stages directly and
`workorders.py` as the domain. The flows are the pipeline's steps once it knows what a message
is; written inline they made a second orchestrator (conversations.py, 1,050 lines, 19 imports),
so they are a layer of their own under the pipeline, each flow a module, with the domain
(`workorders`, grown into this package as DESIGN foresaw) at its bottom. Import-linter checks
the order inside (pyproject.toml).
"""
