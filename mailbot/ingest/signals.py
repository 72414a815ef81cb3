"""The signs of machine mail, as data: what delivery reports, delay warnings, virus and
content-filter notices, challenge-response robots, Lotus Notes/Domino out-of-office notices and
mailing lists' moderation notices write, in the languages a town hall's mailbox sees.
`ingest.classify` and `ingest.notices` decide with them; nothing here decides.

The patterns for a message's text (`*_TEXT`) are matched against the lower-cased text, without
IGNORECASE: several times faster over the window classification reads, on every message.

A sign is strong when a person would not write it (an Exim `X-Failed-Recipients` header, a
Boxbe or TMDA header, "VIRUS (…) IN MAIL FROM YOU"), weak when a citizen might ("Mancata
consegna" is also a complaint about the post): weak signs count only when several agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mailbot.types import ParsedMessage

_I = re.IGNORECASE
_IM = re.IGNORECASE | re.MULTILINE
PREFIX = r"^(?:(?:r|re|i|fw|fwd|aw|wg|tr|rif|sv|vs|antw|odp|enc|res)\s*:\s*)*"

# Local parts of the mail system itself and of the filters in front of it.
SYSTEM_LOCALPARTS = frozenset(
    {"mailer-daemon", "postmaster", "post_master", "mail-daemon", "mailerdaemon", "mdaemon"}
)
FILTER_LOCALPARTS = frozenset(
    {
        "virusalert", "virus-alert", "antivirus", "mailscanner", "mailsweeper", "quarantine",
        "amavis", "amavisd", "mailmarshal", "mailguard", "content-filter", "spamfilter",
    }
)  # fmt: skip
# Words in a local part that mark a robot, not a person ("noreply", "notifications", …).
ROBOT_LOCALPART = re.compile(
    r"(?:^|[._+-])(?:no-?reply|do-?not-?reply|notifications?|notify|alerts?|robot|daemon|"
    r"mailer|bounces?|auto-?responder|verify|verification|challenge|system)(?:$|[._+-])",
    _I,
)

BOUNCE_SUBJECT = re.compile(
    PREFIX + r"(?:undeliver(?:ed|able)|delivery (?:status notification|failure|has failed|"
    r"notification|status)|mail delivery (?:failed|failure|system|status)|returned mail|"
    r"failure (?:notice|delivery)|non recapitabile|mancata consegna|messaggio non recapitato|"
    r"unzustellbar|non remis|complaint about message from|mail system error|mail failure|"
    r"(?:permanent )?delivery failure|message delivery has failed|could not be delivered|"
    r"there was an error sending your mail|delayed mail|warning: (?:could not send|message)|"
    r"mail delivery delayed|errors from|nicht zugestellt|no se pudo entregar|"
    r"не доставлено|ваше сообщение не доставлено|配信(?:不能|エラー)|退信)",
    _I,
)
# What a report's text says about the failure (or the delay), whoever wrote the layout.
FAILURE_TEXT = re.compile(
    r"could(?: not|n't) be delivered|(?:was|were) not delivered|undeliverable|"
    r"delivery (?:to the following recipients? )?(?:has )?failed|permanent(?: fatal)? error|"
    r"failed permanently|unable to deliver|message delivery failed|user unknown|"
    r"no such (?:user|mailbox)|mailbox (?:is )?(?:full|unavailable)|retry timeout exceeded|"
    r"delivery status notification|the following addresses? had permanent|"
    r"non (?:è|e') stato possibile (?:consegnare|recapitare)|impossibile recapitare|"
    r"utente sconosciuto|casella (?:di posta )?piena|konnte nicht zugestellt werden|"
    r"n'a pas pu être (?:remis|distribué)|échec de (?:la )?remise|no se pudo entregar|"
    r"não (?:pôde|foi possível) (?:ser )?entreg|kon niet worden bezorgd|"
    r"не может быть доставлено|не доставлено",
)
DELAY_TEXT = re.compile(
    r"\bdelayed\b|still (?:being retried|trying)|will (?:keep|continue) (?:trying|to try)|"
    r"(?:has|have) not yet been delivered|not been delivered yet|retry (?:later|until)|"
    r"consegna (?:ritardata|in ritardo)|ritardo nella consegna|verzögert|retardé",
)
DSN_FIELDS = re.compile(
    r"^[> \t]*(?:final|original)-recipient\s*:\s*rfc822\s*;|^[> \t]*action\s*:\s*(?:failed|"
    r"delayed)\s*$|^[> \t]*diagnostic-code\s*:\s*smtp\s*;",
    _IM,
)

FILTER_SUBJECT = re.compile(
    r"\b(?:virus|banned (?:contents?|filename)|unchecked contents?|spam|malware|infected)\b"
    r"[^\n]{0,80}\bin (?:mail|message) (?:from|to) you\b",
    _I,
)
FILTER_SUBJECT_WEAK = re.compile(
    r"\b(?:virus|malware|infect\w*|quarantin\w*|blocked|bloccat[oa]|banned|content[- ]filter|"
    r"policy violation|antivirus|symantec|sophos|trend ?micro|mcafee|kaspersky|scanmail|"
    r"mailmarshal|mimecast|proofpoint|clamav|amavis|mailscanner)\b",
    _I,
)
FILTER_TEXT = re.compile(
    r"(?:has been|was|is) (?:quarantined|blocked|removed|deleted|rejected|held)|"
    r"(?:virus|malware|infected (?:file|attachment)|banned (?:file|attachment))"
    r"[^\n]{0,60}(?:found|detected|identified)|"
    r"(?:è stato|e' stato) (?:bloccato|messo in quarantena|rimosso|eliminato)|"
    r"(?:rilevato|trovato) (?:un )?virus|wurde (?:blockiert|in quarantäne)",
)

CHALLENGE_HEADERS = ("x-boxbe", "x-tmda", "x-choicemail", "x-spamarrest", "x-challenge",
                     "x-mailblocks", "x-bluebottle")  # fmt: skip
CHALLENGE_SUBJECT = re.compile(
    r"(?:please )?(?:confirm|verify) (?:your (?:e-?mail|message|address|identity)|that you|"
    r"you are|the sender|sender)|(?:sender|e-?mail|address) verification|"
    r"your (?:message|e-?mail|mail) (?:to [^\n]{1,80} )?(?:is|has been|was) (?:held|pending|"
    r"awaiting|waiting|quarantined)|\b(?:spam ?arrest|boxbe|tmda|challenge[- ]response)\b|"
    r"richiesta di (?:verifica|conferma|autorizzazione)|verifica (?:del |dell'indirizzo del )?"
    r"mittente|conferm[ai] (?:il tuo|del tuo|il) (?:indirizzo|messaggio|invio)|"
    r"autorizzazione (?:del )?mittente|absenderbestätigung|bestätigen sie ihre|"
    r"confirmez votre (?:adresse|message)|vérification (?:de l'expéditeur|anti-?spam)|"
    r"verifique su (?:dirección|mensaje)|verificación del remitente",
    _I,
)
CHALLENGE_TEXT = re.compile(
    r"(?:click|press|follow|visit) (?:on )?(?:the )?(?:link|button|here|url)[^\n]{0,100}"
    r"(?:confirm|verify|deliver|release|approv|authori[sz]|whitelist|human)|"
    r"(?:verify|prove|confirm) (?:that )?you are (?:a )?(?:human|real person|not a "
    r"(?:robot|spammer|machine))|(?:approved|authori[sz]ed|allowed|accepted|safe) senders?|"
    r"whitelist|white list|"
    r"clicc?a (?:sul|il|qui)[^\n]{0,80}(?:conferm|verific|autorizz|consegn)|"
    r"(?:dimostra|conferma|verifica)re? (?:che sei|di essere) (?:una persona|umano)|"
    r"mittenti (?:autorizzati|approvati|attendibili)|"
    r"klicken sie[^\n]{0,80}(?:bestätig|freigeb)|cliquez[^\n]{0,80}(?:confirm|valid)",
)

AUTOMATIC_TEXT = re.compile(
    r"this (?:is an? )?(?:automatically generated|automated|auto-generated) (?:message|"
    r"e-?mail|notification)|(?:please )?do not reply (?:to )?(?:this|directly)|"
    r"messaggio (?:generato )?automatico|messaggio generato automaticamente|"
    r"non rispondere a questo (?:messaggio|indirizzo)|"
    r"automatisch (?:generierte|erstellte) (?:nachricht|e-mail)|"
    r"message (?:généré )?automatique|mensaje (?:generado )?automático",
)
# Lotus Notes / HCL Domino out-of-office: "AUTO: <name> is out of the office (returning <date>)",
# as Domino localises it; a list may put its tag first. Never a reply's or forward's prefix.
DOMINO_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]\n]{1,60}\]\s*)?auto\s*:\s*\S[^\n]{0,80}?\s(?:is out of (?:the )?office|"
    r"non (?:è|e') in ufficio|(?:è|e') (?:fuori (?:ufficio|sede)|assente)|ist (?:außer haus|"
    r"nicht im büro|abwesend)|est absent(?:\(e\)|e)?\b|n'est pas au bureau|"
    r"est(?:á|a) fuera de la oficina|no est(?:á|a) en la oficina)",
    _I,
)
# What an absence notice's text says (Domino's own sentences first, then the usual ones).
ABSENCE_TEXT = re.compile(
    r"(?:i will|i'll) be out of (?:the )?office|will not (?:return|be back) until|"
    r"this is the only notification you will receive while|automated response to your message|"
    r"sar(?:ò|o') (?:fuori (?:ufficio|sede)|assente)[^\n]{0,30} (?:a partire d|dal |fino al )|"
    r"non rientrer(?:ò|o') fino al|l'unica notifica che ricever|risposta automatica al messaggio|"
    r"ich werde ab [^\n]{0,30}nicht im büro sein|ich kehre zurück am|einzige benachrichtigung|"
    r"automatische antwort auf ihre nachricht|je serai absent|ne serai pas de retour|"
    r"seule notification|réponse automatique à votre message|estaré fuera de la oficina|"
    r"no regresaré hasta|respuesta automática a su mensaje",
)
# The mailers that write a Domino notice (X-Mailer; X-MIMETrack is Domino's router alone).
NOTES_MAILER = re.compile(r"\b(?:lotus|ibm|hcl) (?:notes|domino)\b", _I)

# A list's "your message awaits moderator approval" (Mailman 2 and 3 as they ship in their
# languages, Sympa, Google Groups): the subject, and the notice's own sentences.
MODERATION_SUBJECT = re.compile(
    r"awaits moderator approval|(?:pending|awaiting|held for) moderat(?:ion|or approval)|"
    r"attende l'approvazione del moderatore|in attesa (?:di|della) (?:moderazione|approvazione "
    r"del moderatore)|wartet auf (?:die )?(?:bestätigung|freigabe|genehmigung) (?:des|durch den) "
    r"moderators?|en attente (?:d'approbation|de modération)|espera la aprobaci[oó]n del "
    r"moderador|pendiente de (?:moderaci[oó]n|aprobaci[oó]n)",
    _I,
)
MODERATION_TEXT = re.compile(
    r"is being held until the list moderator can review it|the reason it is being held|"
    r"the message is being held because|(?:has been|was) forwarded to the moderator|"
    r"awaiting (?:approval by|review by) (?:a|the) moderator|held for moderator approval|"
    r"(?:è|e') stato trattenuto in attesa che il moderatore|(?:è|e') stato trattenuto finché il "
    r"moderatore|la ragione per la quale (?:è|e') stato trattenuto|(?:è|e') stato inoltrato "
    r"(?:al|ai|al/ai) moderator|in attesa di approvazione da parte (?:di un|del|dei) moderator|"
    r"wird zurückgehalten, bis der (?:listen)?moderator|an den moderator weitergeleitet|"
    r"est en attente jusqu'à ce que le modérateur|transmis aux? modérateurs?|"
    r"ha sido retenido en espera de que el moderador|reenviado al moderador",
)
# Headers only list software writes, and the local parts of list robots.
LIST_HEADERS = ("x-mailman-version", "x-google-group-id", "x-list-administrivia", "x-beenthere",
                "x-sympa")  # fmt: skip
LIST_ROBOTS = frozenset({"sympa", "listserv", "majordomo", "mailman", "ecartis", "listmaster",
                         "lyris", "listar", "smartlist", "mlmmj", "ezmlm"})  # fmt: skip
LIST_DOMAINS = ("googlegroups.com",)
# At least one "Re:", "I:", "Fwd:"…: a person answering or passing a notice on.
REPLY_OR_FORWARD = re.compile(PREFIX.removesuffix("*") + "+", _I)
RETURNED_PARTS = frozenset({"message/rfc822", "text/rfc822-headers", "message/rfc822-headers"})


def local_part(msg: ParsedMessage) -> str:
    return msg.sender.email.split("@")[0] if msg.sender is not None else ""


def challenge_header(headers: Mapping[str, str]) -> str | None:
    for name in headers:
        if name.startswith(CHALLENGE_HEADERS):
            return name
    agent = headers.get("x-delivery-agent", "")
    return "x-delivery-agent" if "tmda" in agent.lower() else None


def returns_a_message(msg: ParsedMessage) -> bool:
    """A returned message or its headers is attached: what reports and filters send back."""
    return bool(RETURNED_PARTS & set(msg.content_types))


def notice_subject(subject: str) -> bool:
    """A filter's or a challenge robot's subject, as a weak sign."""
    return bool(FILTER_SUBJECT_WEAK.search(subject) or CHALLENGE_SUBJECT.search(subject))
