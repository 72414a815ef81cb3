"""What mail clients write around quoted history, in the languages operators' clients speak:
the words of quote headers ("On … wrote:"), what a date looks like in them, the labels of
Outlook's header block, "original message" and "forwarded message" banners, forwarded-message
intros, device footers, closings and "reply above this line" markers. Data only: `lines.py`
types each line with it, `quotes.py` decides from the sequence of types.

Drawn from the clients themselves (Outlook, Gmail, Apple Mail, Thunderbird, iOS and Android
mail, Samsung, Yahoo, Libero, Roundcube, QQ, Yandex) and from the rule sets of the maintained
trimmers we measured against (mail-parser-reply, quotequail, Discourse's email_reply_trimmer,
Mailgun's talon): see tests/conformance/test_reply_libraries.py for what each gets right.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE
_IM = re.IGNORECASE | re.MULTILINE

# The verb that ends a quote header's last line, by language.
WROTE = {
    "it": ("ha scritto", "hanno scritto", "scrive", "scrisse"),
    "en": ("wrote", "writes"),
    "de": ("schrieb", "hat geschrieben", "schreibt"),
    "nl": ("schreef", "het volgende geschreven", "heeft geschreven", "schrijft"),
    "fr": ("a écrit", "a ecrit", "écrit"),
    "es": ("escribió", "escribio", "escribe"),
    "ca": ("va escriure",),
    "pt": ("escreveu", "escreve"),
    "ro": ("a scris",),
    "sv/no/da": ("skrev", "skriver"),
    "pl": ("napisał", "napisał(a)", "napisała", "pisze"),
    "cs/sk": ("napsal", "napsal(a)", "napsala", "píše", "napísal", "napísal(a)"),
    "hr/sr/sl": ("je napisao", "je napisala", "je napisal", "napisal"),
    "hu": ("írta",),
    "fi": ("kirjoitti",),
    "el": ("έγραψε",),
    "tr": ("yazdı",),
    "uk": ("пише", "написав", "написала", "написав(ла)"),
    "ru": ("написал", "написал(а)", "написала", "пишет"),
    "he": ("כתב", "כתבה"),
    "ar": ("كتب",),
}
# Scripts without word spaces: the verb follows the date or name directly.
WROTE_CJK = ("写道", "寫道", "のメール", "さんは書きました", "書きました", "님이 작성")
_WROTE_WORDS = "|".join(
    re.escape(word) for words in WROTE.values() for word in sorted(words, key=len, reverse=True)
)
QUOTE_HEADER_END = re.compile(
    # … "<address>:" (Gmail in Russian, Japanese…), or "> :" closing a wrapped one
    r"^.*(?:<[^<>\s]*@[^<>\s]+>|[^<>\s]+@[^<>\s]+>|^[ \t]*>)[ \t]*\)?[ \t]*[:：][ \t]*$"
    rf"|^.*(?<!\w)(?:{_WROTE_WORDS})[ \t]*[:：]?[ \t]*$"
    rf"|^.*(?:{'|'.join(WROTE_CJK)})[ \t]*[:：]?[ \t]*$",
    _IM,
)

# "Am 02.03.26 um 10:15 schrieb Comune di Esempio:": the verb before the name, a colon at the end.
WROTE_WITHIN = re.compile(rf"(?<!\w)(?:{_WROTE_WORDS})(?!\w).*[:：][ \t]*$", _I)

# The labels of a header block (Outlook's reply header, a forwarded message's): a From label
# with a Sent/Date or a Subject label makes the block (lines.py).
FROM_LABELS = ("from", "da", "de", "von", "van", "od", "fra", "från", "от", "від", "mittente",
               "发件人", "寄件者", "差出人", "보낸 사람")  # fmt: skip
SENT_LABELS = ("sent", "inviato", "envoyé", "envoyé le", "gesendet", "verzonden", "wysłano",
               "date", "data", "datum", "fecha", "skickat", "sendt", "enviado", "enviada",
               "отправлено", "дата", "надіслано", "发送时间", "日期", "送信日時",
               "보낸 날짜")  # fmt: skip


def _labels(labels: tuple[str, ...]) -> str:
    return "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))


# A banner line: "-----Messaggio originale-----", "-------- Original Message --------",
# "---------- Forwarded message ---------", QQ's "------------------ 原始邮件 ---…", "____",
# "===="; a long rule only when a From-like label follows (else it underlines a table).
SEPARATOR = re.compile(
    r"^[ \t]*(?:-{3,}[ \t]*[^-\n][^\n]{1,160}?[ \t]*-{3,}|_{10,}|={3,})[ \t]*$"
    rf"|^[ \t]*-{{20,}}[ \t]*\n(?:[ \t]*\n){{0,2}}[ \t]*\*?(?:{_labels(FROM_LABELS)})\*?"
    r"[ \t]*[:：]",
    _IM,
)

# Apple Mail's, Thunderbird's and others' line before a forwarded message.
FORWARD_INTRO = re.compile(
    r"^[ \t>]*(?:begin forwarded message|inizio (?:del )?messaggio inoltrato|"
    r"anfang der weitergeleiteten (?:nachricht|e-mail)|début du message (?:réexpédié|transféré)|"
    r"comienzo del mensaje reenviado|in[íi]cio da mensagem (?:reencaminhada|encaminhada)|"
    r"começo da mensagem encaminhada|begin doorgestuurd bericht|"
    r"vidarebefordrat (?:mejl|meddelande)|videresendt (?:melding|meddelelse)|"
    r"начало (?:переадресованного|пересылаемого) сообщения|"
    r"початок переадресованого повідомлення|以下是转发的邮件|转发的邮件|転送されたメッセージ)"
    r"[ \t]*[:：]?[ \t]*$",
    _IM,
)

# "Sent from my iPhone" and its translations: whatever follows is history.
DEVICE_LABEL = re.compile(
    r"^[ \t]*(?:inviato da|sent from|envoyé de|envoyé depuis|envoyé à partir de|gesendet von|"
    r"enviado desde|enviado do|enviado de mi|verstuurd (?:vanaf|met|van)|verzonden (?:vanaf|met)|"
    r"skickat från|sendt fra|lähetetty|wysłane z|odesláno z|отправлено с|надіслано з|"
    r"get outlook for|scarica outlook per|ottieni outlook per|obtener outlook para|"
    r"télécharger outlook pour|hent outlook til|skaffa outlook för|"
    r"发自我的|从我的|來自我的)[^,\n]{0,80}$",
    _IM,
)
# What a device footer names: with one of these, a final full stop is still the footer ("Sent
# from my BlackBerry 10 smartphone.").
DEVICE_WORDS = re.compile(
    r"iphone|ipad|android|blackberry|smartphone|tablet|galaxy|samsung|huawei|xiaomi|mobile|"
    r"cellulare|handy|outlook|dispositivo|appareil|device|gerät|telefono|téléphone|teléfono",
    _I,
)
# Footers that end in a fixed word: a full stop after them is still the footer.
DEVICE_PHRASE = re.compile(
    r"^[ \t]*(?:von meinem [^\n]{1,60} gesendet|outlook für [^\n]{1,30} beziehen|"
    r"outlook voor [^\n]{1,30} downloaden|[^\n]{1,30}から送信|[^\n]{1,20}에서 보냄)[ \t.]*$",
    _IM,
)

# Helpdesk markers ("## Please reply above this line ##"), quoted and wrapped as clients do.
_GAP = r"[ \t]*(?:\n[ \t>]*)?[ \t]*"
_ABOVE = (
    ("reply", "above", "this", "line"),
    ("type", "your", "reply", "above", "this", "line"),
    ("reply", "above"),
    ("rispondere", "sopra", "questa", "riga"),
    ("rispondi", "sopra", "questa", "riga"),
    ("scrivere", "sopra", "questa", "riga"),
    ("oberhalb", "dieser", "zeile", "antworten"),
    ("antworten", "sie", "oberhalb", "dieser", "zeile"),
    ("répondez", "au-dessus", "de", "cette", "ligne"),
    ("responda", "por", "encima", "de", "esta", "línea"),
)
REPLY_ABOVE = re.compile(
    r"^[ \t>]*[#\-=*_ \t]*(?:please[ \t]+|si[ \t]+prega[ \t]+di[ \t]+)?(?:"
    + "|".join(_GAP.join(map(re.escape, words)) for words in _ABOVE)
    + r")",
    _IM,
)

# The words of a banner line ("-----Original Message-----", "*-------- Messaggio originale
# --------*"): history under it; or a forward ("---------- Forwarded message ---------").
ORIGINAL_WORDS = (
    "original message", "messaggio originale", "ursprüngliche nachricht", "originalnachricht",
    "oorspronkelijk bericht", "origineel bericht", "oorspronkelijke bericht", "message d'origine",
    "message original", "mensaje original", "mensagem original", "originalmeddelande",
    "ursprungligt meddelande", "opprinnelig melding", "oprindelig meddelelse",
    "original meddelelse", "исходное сообщение", "оригинальное сообщение",
    "оригінальне повідомлення", "原始邮件", "原始郵件", "元のメッセージ", "alkuperäinen viesti",
    "wiadomość oryginalna", "oryginalna wiadomość", "původní zpráva", "reply message",
)  # fmt: skip
FORWARD_WORDS = (
    "forwarded message", "forwarded e-mail", "forwarded email", "messaggio inoltrato",
    "e-mail inoltrata", "mail inoltrata", "weitergeleitete nachricht", "doorgestuurd bericht",
    "message transféré", "message réexpédié", "mensaje reenviado", "mensaje remitido",
    "mensagem encaminhada", "mensagem reencaminhada", "vidarebefordrat meddelande",
    "videresendt melding", "videresendt meddelelse", "пересылаемое сообщение",
    "пересланное сообщение", "переслане повідомлення", "转发邮件", "転送メッセージ",
    "välitetty viesti", "przekazana wiadomość", "přeposlaná zpráva",
)  # fmt: skip
# A forward's subject prefix, as clients write it by language ("I:" Outlook in Italian, "WG:"
# German, "TR:" French, "RV:" Spanish, "Doorst:" Dutch, "ENC:" Portuguese, "VB:" Swedish…).
FORWARD_SUBJECT = re.compile(
    r"^[ \t]*(?:\[[^\]]{0,40}\][ \t]*)?(?:fwd?|fw|i|inoltro|wg|tr|rv|enc|doorst|vs|vb|vl|pd|"
    r"пересл|пересылка|转发|転送)[ \t]*[:：]",
    _I,
)
# Emphasis an HTML-to-text conversion puts around a banner or a label.
DECORATION = "*_~#"
COLONS = (":", "：")
_BANNER_WORDS = "|".join(
    re.escape(w) for w in sorted(ORIGINAL_WORDS + FORWARD_WORDS, key=len)[::-1]
)
BANNER_WORDS = re.compile(rf"^[-=\s]*(?:{_BANNER_WORDS})[-=\s:：]*$", _I)
FORWARD_BANNER = re.compile("|".join(re.escape(w) for w in FORWARD_WORDS), _I)

# Lines that open a quote header: walking back over a wrapped header stops at them.
HEADER_OPENERS = re.compile(
    r"^[ \t]*(?:(?:on|il|il giorno|in data|am|op|le|el|em|den|dne|w dniu|в|у|la|ao|no|pe)\b"
    r"[^\n]{0,25}\d|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{4}年)",
    _I,
)
# What a date or a time looks like in a quote header without a verb ("2026-03-02 10:15 GMT+01:00
# Mario Rossi <m@x>:", "lun 2 mar 2026, 10:15 Mario Rossi <m@x>").
MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|"
    "july|august|september|october|november|december|gen|mag|giu|lug|ago|set|ott|dic|gennaio|"
    "febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre|"
    "jän|mär|mai|okt|dez|januar|februar|märz|juni|juli|oktober|dezember|mrt|mei|okt|maart|"
    "janv|févr|fevr|mars|avr|avril|juin|juil|juillet|août|aout|déc|janvier|février|fevrier|"
    "ene|abr|dic|enero|febrero|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|"
    "diciembre|fev|out|dez|janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|"
    "novembro|dezembro"
)
DATE = re.compile(
    r"\d{1,4}[./-]\d{1,2}[./-]\d{2,4}|\d{4}年|\b\d{1,2}\.?[ \t]+(?:" + MONTHS + r")\b"
    r"|\b(?:" + MONTHS + r")\.?[ \t]+\d{1,2}\b",
    _I,
)
TIME = re.compile(r"\b\d{1,2}[:.h]\d{2}\b")
ADDRESS = re.compile(r"[^\s<>()\[\]]+@[^\s<>()\[\]]+\.[^\s<>()\[\]]+")
# Quote marks other clients use instead of ">" (a run after a quote header only).
OTHER_QUOTE_MARKS = ("|", "»", "›")
# Labels of a header block's other lines (a forwarded message's header is From…Date…To…Subject).
OTHER_LABELS = ("to", "a", "an", "aan", "à", "para", "till", "til", "do", "кому", "收件人",
                "宛先", "받는 사람", "cc", "ccn", "bcc", "kopie", "subject", "oggetto", "betreff",
                "onderwerp", "objet", "asunto", "assunto", "ämne", "emne", "temat", "předmět",
                "тема", "主题", "主題", "件名", "제목", "reply-to", "rispondi a",
                "priorità", "importance", "priority", "wichtigkeit")  # fmt: skip

# Lotus Notes 7/8 lays the header out in columns: the labels alone, far to the right.
NOTES_LABELS = frozenset(
    ("to", "cc", "bcc", "subject", "a", "oggetto", "ccn", "an", "kopie", "betreff", "thema",
     "objet", "para", "asunto", "aan", "onderwerp")
)  # fmt: skip
_ANY_LABEL = _labels(FROM_LABELS + SENT_LABELS + OTHER_LABELS)
FROM_FIELD = re.compile(rf"^[ \t]*[*_]*(?:{_labels(FROM_LABELS)})[*_]*[ \t]*[:：]", _I)
FIELD = re.compile(rf"^[ \t]*[*_]*(?:{_ANY_LABEL})[*_]*[ \t]*[:：]", _I)
_SUBJECT_LABELS = OTHER_LABELS[OTHER_LABELS.index("subject") : OTHER_LABELS.index("reply-to")]
DATE_FIELD = re.compile(
    rf"^[ \t]*[*_]*(?:{_labels(SENT_LABELS + _SUBJECT_LABELS)})[*_]*[ \t]*[:：]", _I
)

FOOTER_START = re.compile(r"^(?:-- ?|__+)[ \t]*$", re.MULTILINE)  # signature, list footer
# Closings, by language: a line that is only one of these (and a comma or full stop) opens the
# sign-off block.
CLOSINGS = {
    "it": ("cordiali saluti", "distinti saluti", "un cordiale saluto", "cordialmente", "saluti",
           "un saluto", "tanti saluti", "cari saluti", "saluti cordiali", "i migliori saluti",
           "con i migliori saluti", "cordiali saluti e buon lavoro", "un caro saluto"),
    "en": ("best regards", "kind regards", "warm regards", "warmest regards", "kindest regards",
           "regards", "best wishes", "sincerely", "yours sincerely", "sincerely yours",
           "yours faithfully", "yours truly", "all the best", "best", "cheers"),
    "de": ("mit freundlichen grüßen", "mit freundlichen grüssen", "mit freundlichen gruessen",
           "mit freundlichem gruß", "freundliche grüße", "freundliche grüsse", "viele grüße",
           "viele grüsse", "beste grüße", "herzliche grüße", "liebe grüße", "lg", "mfg",
           "gruß", "grüße"),
    "fr": ("cordialement", "bien cordialement", "très cordialement", "bien à vous",
           "bien a vous", "salutations", "salutations distinguées", "meilleures salutations",
           "sincères salutations", "amicalement"),
    "es": ("saludos", "saludos cordiales", "un saludo", "un cordial saludo", "atentamente",
           "cordiales saludos", "un abrazo"),
    "pt": ("atenciosamente", "cumprimentos", "melhores cumprimentos", "abraços", "abraço",
           "com os melhores cumprimentos"),
    "nl": ("met vriendelijke groet", "met vriendelijke groeten", "vriendelijke groet", "groeten",
           "hartelijke groet", "met hartelijke groet", "mvg"),
    "da/no/sv": ("med venlig hilsen", "venlig hilsen", "mvh", "kh", "hilsen", "med vennlig hilsen",
                 "vennlig hilsen", "med vänliga hälsningar", "vänliga hälsningar", "hälsningar",
                 "bästa hälsningar", "vanliga halsningar", "halsningar"),
    "pl": ("pozdrawiam", "z pozdrowieniami", "z poważaniem", "z powazaniem",
           "serdecznie pozdrawiam"),
    "cs/sk": ("s pozdravem", "s pozdravom", "s úctou", "se srdečným pozdravem"),
    "hr/sr/sl": ("srdačan pozdrav", "lijep pozdrav", "s poštovanjem", "lep pozdrav"),
    "ro": ("cu stimă", "cu stima", "cu respect", "toate cele bune"),
    "hu": ("üdvözlettel", "tisztelettel", "üdv"),
    "el": ("με εκτίμηση", "φιλικά"),
    "tr": ("saygılarımla", "selamlar", "iyi çalışmalar"),
    "fi": ("ystävällisin terveisin", "terveisin"),
    "ru/uk": ("с уважением", "з повагою", "с наилучшими пожеланиями"),
}  # fmt: skip
_CLOSING_WORDS = sorted((w for words in CLOSINGS.values() for w in words), key=len, reverse=True)
CLOSING = re.compile(
    r"^[ \t]*(?:" + "|".join(map(re.escape, _CLOSING_WORDS)) + r")[ \t]*[,.!:]?[ \t]*$", _IM
)
SIGN_OFF = re.compile(r"\n\n[ \t]*[-/~][ \t]?[^\W\d][^\n]{0,40}$")  # "-Abhishek Kona", "/John"
SIGNATURE_LINES = 7  # at most this many short lines after a closing: longer is the message
