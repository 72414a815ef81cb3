"""What mail clients write around quoted history, in the languages operators' clients speak:
the words of quote headers ("On … wrote:"), the labels of Outlook's header block, separator
banners, forwarded-message intros, device footers and "reply above this line" markers. Data
only; `quotes.py` applies it.

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
    "it": ("ha scritto", "hanno scritto", "scrive"),
    "en": ("wrote", "writes"),
    "de": ("schrieb", "hat geschrieben"),
    "nl": ("schreef", "het volgende geschreven", "heeft geschreven"),
    "fr": ("a écrit", "a ecrit"),
    "es": ("escribió", "escribio"),
    "pt": ("escreveu",),
    "sv/no/da": ("skrev",),
    "pl": ("napisał", "napisał(a)", "napisała"),
    "cs": ("napsal", "napsal(a)", "napsala"),
    "fi": ("kirjoitti",),
    "uk": ("пише", "написав", "написала", "написав(ла)"),
    "ru": ("написал", "написал(а)", "написала", "пишет"),
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

# Outlook's header block: a From label, then within three lines a Sent/Date label.
FROM_LABELS = ("from", "da", "de", "von", "van", "od", "fra", "från", "от", "від", "mittente",
               "发件人", "寄件者", "差出人", "보낸 사람")  # fmt: skip
SENT_LABELS = ("sent", "inviato", "envoyé", "envoyé le", "gesendet", "verzonden", "wysłano",
               "date", "data", "datum", "fecha", "skickat", "sendt", "enviado", "enviada",
               "отправлено", "дата", "надіслано", "发送时间", "日期", "送信日時",
               "보낸 날짜")  # fmt: skip


def _labels(labels: tuple[str, ...]) -> str:
    return "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))


HEADER_BLOCK = re.compile(
    rf"^[ \t]*\*?(?:{_labels(FROM_LABELS)})\*?[ \t]*[:：].*\n(?:.*\n){{0,2}}?"
    rf"[ \t]*\*?(?:{_labels(SENT_LABELS)})\*?[ \t]*[:：]",
    _IM,
)

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

SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)
FOOTER_START = re.compile(r"^(?:-- ?|__+)[ \t]*$", re.MULTILINE)  # signature, list footer
CLOSING = re.compile(
    r"^[ \t]*(?:cordiali saluti|distinti saluti|un cordiale saluto|cordialmente|saluti|"
    r"best regards|kind regards|warm regards|regards|best wishes|sincerely|yours sincerely|"
    r"med venlig hilsen|venlig hilsen|mvh|kh|hilsen|med vennlig hilsen|vennlig hilsen|"
    r"pozdrawiam|z pozdrowieniami|z powa[żz]aniem|mit freundlichen gr[üu](?:ß|ss)en|"
    r"viele gr[üu](?:ß|ss)e|lg|cordialement|bien [àa] vous|saludos|atentamente|"
    r"atenciosamente|cumprimentos|met vriendelijke groet|groeten|"
    r"v[äa]nliga h[äa]lsningar|h[äa]lsningar|с уважением|з повагою)[ \t]*[,.!]?[ \t]*$",
    _IM,
)
SIGN_OFF = re.compile(r"\n\n[ \t]*[-/~][ \t]?[^\W\d][^\n]{0,40}$")  # "-Abhishek Kona", "/John"
SIGNATURE_LINES = 7  # at most this many short lines after a closing: longer is the message
