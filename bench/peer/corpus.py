"""Deterministic corpus of Italian citizen complaint e-mails, written as a Maildir: the
generator of ../shared/bench (harness/corpus.py), copied so that bench/paired.py measures the
very corpus issue 32's figures came from (same --n/--seed, byte-identical files).

    uv run python bench/peer/corpus.py --n 500 --seed 1      -> bench/corpus/n500-s1/

Layout of a corpus directory:
    Maildir/cur/<ts>.M<i>P<seed>.bench,S=<size>,W=<vsize>:2,   one file per message (LF line ends)
    registry.csv      synthetic taxpayer registry (codice_fiscale, cognome, nome, email, ...)
    manifest.jsonl    one line per message: idx, message_id, sender, in_registry, is_reply, ...
    meta.json         counts and sizes; written last, so its presence means "complete"

Mix (defaults): ~30 % senders in the registry; ~10 % with 1-2 attachments of
50 KB-2 MB (log-uniform; PDF-like or JPEG-like binary); ~5 % replies with
In-Reply-To/References to an earlier message of the same sender; bodies plain
only, plain+HTML alternative or HTML only; charsets utf-8 / iso-8859-1 /
windows-1252 with 8bit, quoted-printable or base64; RFC 2047 subjects and names.
The same --n/--seed always gives byte-identical files.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import csv
import json
import quopri
import random
import shutil
import time
from datetime import datetime, timedelta, timezone
from email.header import Header
from email.utils import format_datetime
from pathlib import Path

CORPUS_ROOT = Path(__file__).resolve().parents[1] / "corpus"  # bench/corpus, git-ignored


def corpus_dir(n: int, seed: int) -> Path:
    return CORPUS_ROOT / f"n{n}-s{seed}"


NOMI = [
    "Marco",
    "Giulia",
    "Luca",
    "Francesca",
    "Alessandro",
    "Chiara",
    "Giuseppe",
    "Sara",
    "Niccolò",
    "Martina",
    "Andrea",
    "Elena",
    "Matteo",
    "Valentina",
    "Lorenzo",
    "Federica",
    "Davide",
    "Alessia",
    "Simone",
    "Silvia",
    "Stefano",
    "Paola",
    "Antonio",
    "Anna",
    "Francesco",
    "Laura",
    "Roberto",
    "Ilaria",
    "Giovanni",
    "Beatrice",
    "Salvatore",
    "Noemi",
    "Raffaele",
    "Lucia",
    "Gianluca",
    "Rosaria",
    "Pietro",
    "Carmela",
    "Domenico",
    "Teresa",
    "Nicolò",
    "Zoë",
    "Mattia",
    "Aurora",
    "Gabriele",
    "Sofia",
    "Tommaso",
    "Greta",
]
COGNOMI = [
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Bruno",
    "Gallo",
    "Conti",
    "De Luca",
    "Mancini",
    "Costa",
    "Giordano",
    "Rizzo",
    "Lombardi",
    "Moretti",
    "Barbieri",
    "Fontana",
    "Santoro",
    "Mariani",
    "Rinaldi",
    "Caruso",
    "Ferrara",
    "Galli",
    "Martini",
    "Leone",
    "Longo",
    "Gentile",
    "Martinelli",
    "Vitale",
    "Lombardo",
    "Serra",
    "Coppola",
    "De Santis",
    "D'Angelo",
    "Marchetti",
    "Parisi",
    "Villa",
    "Conte",
    "Ferraro",
    "Ferri",
    "Fabbri",
    "Bianco",
    "Marini",
    "Grasso",
    "Valentini",
    "Messina",
    "Sala",
    "De Angelis",
    "Gatti",
    "Pellegrini",
    "Palumbo",
    "Sanna",
    "Farina",
    "Rizzi",
    "Monti",
    "Cattaneo",
    "Morelli",
    "Amato",
    "Silvestri",
    "Mazza",
    "Testa",
    "Grassi",
    "Pellegrino",
    "Carbone",
    "Giuliani",
    "Benedetti",
    "Barone",
    "Rossetti",
    "Caputo",
    "Montanari",
    "Guerra",
    "Palmieri",
    "Bernardi",
    "Martino",
    "Fiore",
    "De Rosa",
    "Ferretti",
    "Bellini",
    "Basile",
    "Riva",
    "Donati",
    "Piras",
    "Vitali",
    "Battaglia",
    "Sartori",
    "Neri",
    "Costantini",
    "Milani",
    "Pagano",
    "Ruggiero",
    "Sorrentino",
    "D'Amico",
    "Orlando",
    "Damico",
    "Negri",
    "Nicolò",
]
DOMINI = [
    "gmail.com",
    "libero.it",
    "virgilio.it",
    "alice.it",
    "hotmail.it",
    "yahoo.it",
    "tiscali.it",
    "outlook.it",
    "fastwebnet.it",
    "tim.it",
    "pec.it",
    "legalmail.it",
    "studio-rossi.it",
    "email.it",
    "icloud.com",
]
VIE = [
    "via Roma",
    "via Garibaldi",
    "corso Vittorio Emanuele",
    "via Mazzini",
    "piazza Duomo",
    "via Cavour",
    "viale della Repubblica",
    "via dei Mille",
    "via Verdi",
    "via XX Settembre",
    "largo Fiume",
    "via Nazionale",
    "via San Francesco d'Assisi",
    "vicolo del Pozzo",
    "via Colombo",
    "strada provinciale 12",
    "via Manzoni",
    "piazza Santa Maria",
    "via Dante",
    "lungomare Caracciolo",
    "via della Libertà",
    "via Aldo Moro",
    "via Papa Giovanni XXIII",
]
TEMI = [
    (
        "Buca pericolosa in {via}",
        [
            "Segnalo la presenza di una buca molto profonda all'altezza del civico {civ} di {via}.",
            "Ieri sera un motociclista è caduto proprio lì e solo per fortuna non si è fatto male.",
            "La buca è profonda circa {num} centimetri e con la pioggia non si vede.",
            "Chiedo un intervento urgente prima che qualcuno si faccia male sul serio.",
        ],
    ),
    (
        "Lampione spento {via}",
        [
            "Da {num} giorni il lampione davanti al civico {civ} di {via} è spento.",
            "La strada di sera è completamente al buio e i residenti hanno paura a rientrare.",
            "Ho già segnalato il guasto al numero verde ma nessuno è intervenuto.",
        ],
    ),
    (
        "Mancata raccolta rifiuti",
        [
            "In {via} i rifiuti dell'organico non vengono ritirati da {num} giorni.",
            "I cassonetti sono pieni e l'odore è insopportabile, soprattutto con questo caldo.",
            "Ci sono anche sacchi abbandonati sul marciapiede che attirano gabbiani e ratti.",
            "Vorrei sapere quando è previsto il prossimo passaggio del camion.",
        ],
    ),
    (
        "Richiesta rettifica avviso TARI {anno}",
        [
            "Ho ricevuto l'avviso di pagamento TARI per l'anno {anno} con un importo di {eur} euro.",
            "L'importo è errato perché la superficie indicata è di {num} mq mentre l'immobile ne misura meno.",
            "Allego la planimetria catastale e la ricevuta dell'ultimo versamento.",
            "Chiedo la rettifica dell'avviso e la sospensione dei termini di pagamento.",
        ],
    ),
    (
        "Rimborso IMU versata due volte",
        [
            "Per errore ho versato due volte la rata di acconto IMU {anno} pari a {eur} euro.",
            "Il codice fiscale del contribuente è {cf} e l'immobile si trova in {via} {civ}.",
            "Chiedo il rimborso della somma versata in eccesso sul conto IBAN che comunico in allegato.",
        ],
    ),
    (
        "Contestazione verbale n. {verbale}",
        [
            "Con la presente contesto il verbale n. {verbale} notificato il {data}.",
            "Al momento della presunta infrazione il veicolo si trovava regolarmente parcheggiato.",
            "Allego la fotografia che dimostra la presenza del permesso esposto sul cruscotto.",
            "Chiedo l'annullamento in autotutela del verbale.",
        ],
    ),
    (
        "Rumori molesti notturni",
        [
            "Da settimane il locale al civico {civ} di {via} tiene la musica alta fino alle {ora}.",
            "Abbiamo bambini piccoli e anziani che non riescono a dormire.",
            "Chiedo un controllo da parte della Polizia Locale nei fine settimana.",
        ],
    ),
    (
        "Albero pericolante nel parco",
        [
            "Nel parco di {via} c'è un albero inclinato che sembra sul punto di cadere.",
            "Dopo il temporale di {data} alcuni rami sono già caduti sul vialetto.",
            "Il parco è frequentato da bambini: vi prego di intervenire al più presto.",
        ],
    ),
    (
        "Perdita d'acqua in strada",
        [
            "In {via} all'altezza del civico {civ} esce acqua dal tombino da {num} ore.",
            "Si sta formando una pozzanghera enorme e il marciapiede è scivoloso.",
        ],
    ),
    (
        "Richiesta accesso agli atti",
        [
            "Il sottoscritto chiede di accedere agli atti relativi alla pratica edilizia n. {verbale}.",
            "La richiesta è motivata dall'interesse a tutelare la proprietà confinante in {via} {civ}.",
            "Resto in attesa di indicazioni sulle modalità e sui costi di rilascio delle copie.",
        ],
    ),
    (
        "Servizio mensa scolastica",
        [
            "Mio figlio frequenta la scuola primaria di {via} e da {num} giorni il pasto arriva freddo.",
            "Inoltre il menù non rispetta la dieta certificata per celiachia già comunicata.",
            "Chiedo un incontro con l'ufficio competente.",
        ],
    ),
    (
        "Barriere architettoniche marciapiede",
        [
            "Il marciapiede in {via} non ha scivoli e chi è in carrozzina è costretto a scendere in strada.",
            "Segnalo anche un'auto che parcheggia ogni giorno sullo scivolo davanti al civico {civ}.",
            "Spero che l'amministrazione voglia rendere la città più accessibile a tutti.",
        ],
    ),
]
RIEMPITIVI = [
    "Premetto che non è la prima volta che scrivo per questo problema.",
    "Resto a disposizione per eventuali chiarimenti e sopralluoghi.",
    "Ringrazio anticipatamente per l'attenzione.",
    "Confido in una risposta sollecita, come previsto dalla Carta dei servizi.",
    "Faccio presente che la situazione peggiora di giorno in giorno.",
    "Ho allegato alcune foto scattate stamattina.",
    "Non capisco perché si debba sempre aspettare che succeda qualcosa di grave.",
    "Pago regolarmente le tasse e mi aspetto un servizio all'altezza.",
    "Anche altri vicini sono pronti a firmare una segnalazione congiunta.",
    "Vi chiedo cortesemente di comunicarmi il numero di protocollo della presente.",
    "L'importo richiesto, pari a {eur} €, mi sembra del tutto sproporzionato.",
    "Più volte ho telefonato all'URP senza riuscire a parlare con un operatore.",
    "Perché nessuno risponde alle PEC? È un obbligo di legge!",
    "Così non si può andare avanti: è una vergogna per tutta la città.",
]
SALUTI = [
    "Cordiali saluti",
    "Distinti saluti",
    "Grazie e buona giornata",
    "In attesa di riscontro, saluto cordialmente",
    "Saluti",
    "Cordialmente",
]
DESTINATARI = [
    "protocollo@comune.example.it",
    "urp@comune.example.it",
    "segnalazioni@comune.example.it",
    "tributi@comune.example.it",
]
MAILERS = [
    "Mozilla Thunderbird 115.6.0",
    "Microsoft Outlook 16.0",
    "iPhone Mail (21B101)",
    "Roundcube Webmail/1.6.5",
    "Libero Mail",
    "Gmail",
    None,
    None,
]
ALLEGATI = [
    ("foto_buca.jpg", "jpeg"),
    ("IMG_{n}.JPG", "jpeg"),
    ("ricevuta_pagamento.pdf", "pdf"),
    ("planimetria.pdf", "pdf"),
    ("verbale_{n}.pdf", "pdf"),
    ("documento identità.pdf", "pdf"),
    ("segnalazione_più_foto.jpg", "jpeg"),
    ("Scansione_{n}.pdf", "pdf"),
]
SUBJ_PRE = [
    "",
    "",
    "",
    "",
    "",
    "URGENTE: ",
    "Segnalazione – ",  # noqa: RUF001 (the typography of real subjects)
    "Sollecito: ",
    "Ennesima segnalazione: ",
    "Richiesta d’intervento: ",  # noqa: RUF001
    "I: ",
    "Fwd: ",
]
SUBJ_POST = [
    "",
    "",
    "",
    "",
    " – città",  # noqa: RUF001
    " (già segnalato più volte)",
    " - rif. pratica",
    " !!!",
    " — è possibile intervenire?",
    " [prot. in uscita]",
]
CF_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def codice_fiscale(rng: random.Random) -> str:
    L = lambda k: "".join(rng.choice(CF_CHARS) for _ in range(k))  # noqa: E731
    return f"{L(6)}{rng.randint(40, 99):02d}{rng.choice('ABCDEHLMPRST')}{rng.randint(1, 71):02d}{L(1)}{rng.randint(100, 999)}{L(1)}"


def ascii_local(s: str) -> str:
    tr = str.maketrans("àèéìòùÀÈÉÌÒÙëö'", "aeeiouAEEIOUeo_")
    return s.translate(tr).replace(" ", "").lower()


def fill(rng: random.Random, s: str, ctx: dict) -> str:
    return s.format(**ctx)


def make_ctx(rng: random.Random, cf: str) -> dict:
    return {
        "via": rng.choice(VIE),
        "civ": rng.randint(1, 220),
        "num": rng.randint(2, 60),
        "anno": rng.choice([2022, 2023, 2024, 2025]),
        "eur": f"{rng.randint(80, 2400)},{rng.randint(0, 99):02d}",
        "cf": cf,
        "verbale": f"{rng.randint(1000, 99999)}/{rng.choice(['PL', 'T', 'E'])}",
        "data": f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/{rng.choice([2024, 2025])}",
        "ora": rng.choice(["le 2", "le 3 di notte", "mezzanotte passata", "l'alba"]),
    }


def body_text(rng: random.Random, tema, ctx: dict, nome: str, cognome: str) -> tuple[str, str]:
    titolo, frasi = tema
    subject = fill(rng, titolo, ctx)
    # length: most short, some medium, a few very long (copy-pasted history etc.)
    r = rng.random()
    n_extra = (
        rng.randint(0, 3) if r < 0.65 else rng.randint(4, 25) if r < 0.95 else rng.randint(40, 160)
    )
    par = [
        rng.choice(
            ["Buongiorno,", "Gentile Ufficio,", "Spett.le Comune,", "Salve,", "Egregio Sindaco,"]
        )
    ]
    core = [fill(rng, f, ctx) for f in frasi[: rng.randint(1, len(frasi))]]
    extra = [fill(rng, rng.choice(RIEMPITIVI), ctx) for _ in range(n_extra)]
    sentences = core + extra
    # group into paragraphs
    i = 0
    while i < len(sentences):
        k = rng.randint(1, 4)
        par.append(" ".join(sentences[i : i + k]))
        i += k
    par.append(f"{rng.choice(SALUTI)}\n{nome} {cognome}")
    if rng.random() < 0.3:
        par.append(f"Tel. 3{rng.randint(10, 99)} {rng.randint(1000000, 9999999)}")
    return subject, "\n\n".join(par) + "\n"


def to_html(text: str, rng: random.Random) -> str:
    paras = text.strip().split("\n\n")
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # noqa: E731
    ps = "".join(f"<p>{esc(p).replace(chr(10), '<br>')}</p>\n" for p in paras)
    style = rng.choice(
        ["", "font-family:Calibri,sans-serif;font-size:11pt", "font-family:Arial;color:#222"]
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta http-equiv="Content-Type" content="text/html">'
        f'</head>\n<body style="{style}"><div dir="ltr">\n{ps}</div></body></html>\n'
    )


def wrap76(s: str) -> str:
    return "\n".join(s[i : i + 76] for i in range(0, len(s), 76))


def encode_part(text: str, subtype: str, charset: str, cte: str) -> str:
    """A single text/* MIME part with headers (str, LF line ends; bytes >127 as latin-1 chars)."""
    raw = text.encode(charset, "replace")
    if cte == "base64":
        payload = wrap76(base64.b64encode(raw).decode("ascii")) + "\n"
    elif cte == "quoted-printable":
        payload = quopri.encodestring(raw).decode("ascii")
        if not payload.endswith("\n"):
            payload += "\n"
    else:  # 8bit: keep raw bytes; carried through as latin-1 code points
        payload = raw.decode("latin-1")
    return (
        f'Content-Type: text/{subtype}; charset="{charset}"\n'
        f"Content-Transfer-Encoding: {cte}\n\n{payload}"
    )


def encode_header(value: str, charset: str, rng: random.Random, force: bool = False) -> str:
    try:
        value.encode("ascii")
        if not force:
            return value
    except UnicodeEncodeError:
        pass
    if rng.random() < 0.01:
        # raw 8-bit UTF-8 header: non-compliant but seen in the wild (kept as byte-valued code points)
        return value.encode("utf-8").decode("latin-1")
    cs = "utf-8" if charset == "utf-8" or rng.random() < 0.5 else "iso-8859-1"
    try:
        value.encode(cs)
    except UnicodeEncodeError:
        cs = "utf-8"
    # utf-8 -> shortest of B/Q, iso-8859-1 -> Q; long values are folded
    return Header(value, cs).encode(maxlinelen=76, linesep="\n")


def attachment_part(rng: random.Random, idx: int) -> tuple[str, int]:
    name, kind = rng.choice(ALLEGATI)
    name = name.format(n=rng.randint(1000, 9999))
    size = int(50_000 * (40 ** rng.random()))  # log-uniform 50 KB .. 2 MB
    body = rng.randbytes(size)
    if kind == "pdf":
        data = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + body + b"\n%%EOF\n"
        ctype = "application/pdf"
    else:
        data = (
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            + body
            + b"\xff\xd9"
        )
        ctype = "image/jpeg"
    try:
        name.encode("ascii")
        disp = f'attachment; filename="{name}"'
        ct_name = f'; name="{name}"'
    except UnicodeEncodeError:
        from urllib.parse import quote

        disp = f"attachment; filename*=utf-8''{quote(name)}"
        ct_name = ""
    b64 = binascii.b2a_base64(data, newline=False).decode("ascii")
    payload = "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))
    return (
        f"Content-Type: {ctype}{ct_name}\nContent-Transfer-Encoding: base64\n"
        f"Content-Disposition: {disp}\n\n{payload}\n"
    ), len(data)


def boundary(rng: random.Random) -> str:
    return "----=_Part_" + "".join(rng.choice("0123456789abcdef") for _ in range(24))


def multipart(subtype: str, parts: list[str], rng: random.Random) -> tuple[str, str]:
    b = boundary(rng)
    body = "".join(f"--{b}\n{p}\n" for p in parts) + f"--{b}--\n"
    return f'multipart/{subtype}; boundary="{b}"', body


def generate(
    n: int, seed: int, out: Path, p_registry=0.30, p_attach=0.10, p_reply=0.05, quiet=False
) -> dict:
    rng = random.Random(seed)
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    cur = tmp / "Maildir" / "cur"
    cur.mkdir(parents=True)
    (tmp / "Maildir" / "new").mkdir()
    (tmp / "Maildir" / "tmp").mkdir()

    # --- registry -------------------------------------------------------
    n_reg = max(500, n // 2)
    registry = []
    seen_emails = set()
    for i in range(n_reg):
        nome, cognome = rng.choice(NOMI), rng.choice(COGNOMI)
        email = f"{ascii_local(nome)}.{ascii_local(cognome)}{i}@{rng.choice(DOMINI)}"
        seen_emails.add(email)
        registry.append(
            {
                "codice_fiscale": codice_fiscale(rng),
                "cognome": cognome,
                "nome": nome,
                "email": email,
                "comune": "Comune di Esempio",
                "indirizzo": f"{rng.choice(VIE)} {rng.randint(1, 220)}",
            }
        )
    with open(tmp / "registry.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(registry[0].keys()))
        w.writeheader()
        w.writerows(registry)

    base_ts = 1_735_689_600  # 2025-01-01T00:00:00Z
    rome = timezone(timedelta(hours=1))
    manifest = []
    totals = {
        "bytes": 0,
        "attachments": 0,
        "attachment_bytes": 0,
        "replies": 0,
        "in_registry": 0,
        "html_only": 0,
        "alternative": 0,
        "plain_only": 0,
        "charset": {},
        "encoded_subject": 0,
    }
    ts = base_ts
    t_start = time.monotonic()
    for i in range(n):
        ts += rng.randint(1, 240)
        is_reply = i > 20 and rng.random() < p_reply
        parent = None
        if is_reply:
            parent = manifest[rng.randrange(max(0, i - 2000), i)]
            nome, cognome, email, cf, in_reg = parent["_sender"]
        elif rng.random() < p_registry:
            # some citizens write often: skew the choice
            p = registry[int(len(registry) * (rng.random() ** 2))]
            nome, cognome, email, cf, in_reg = (
                p["nome"],
                p["cognome"],
                p["email"],
                p["codice_fiscale"],
                True,
            )
        else:
            nome, cognome = rng.choice(NOMI), rng.choice(COGNOMI)
            email = f"{ascii_local(nome)}{rng.choice(['.', '_', ''])}{ascii_local(cognome)}{rng.randint(1, 99999)}x@{rng.choice(DOMINI)}"
            cf, in_reg = codice_fiscale(rng), False
        tema = rng.choice(TEMI)
        ctx = make_ctx(rng, cf)
        subject, text = body_text(rng, tema, ctx, nome, cognome)
        domain = email.split("@", 1)[1]
        msgid = f"<{rng.getrandbits(64):016x}.{i}@{domain}>"
        headers = []
        if is_reply:
            subject = rng.choice(["Re: ", "R: ", "RE: "]) + parent["subject"]
            refs = (parent["references"] + " " if parent["references"] else "") + parent[
                "message_id"
            ]
            quoted = "\n".join("> " + line for line in parent["_text"].splitlines())
            text = (
                fill(rng, rng.choice(RIEMPITIVI), ctx)
                + "\n"
                + rng.choice(
                    ["Sollecito una risposta.", "Aggiungo una foto.", "Il problema persiste."]
                )
                + f"\n\n{nome} {cognome}\n\nIl giorno {datetime.fromtimestamp(parent['_ts'], rome).strftime('%d/%m/%Y %H:%M')} "
                f"{nome} {cognome} <{email}> ha scritto:\n" + quoted + "\n"
            )
            headers.append(f"In-Reply-To: {parent['message_id']}")
            headers.append("References: " + refs)
            totals["replies"] += 1
        else:
            refs = ""
        r = rng.random()
        charset = "utf-8" if r < 0.70 else "iso-8859-1" if r < 0.95 else "windows-1252"
        if charset == "iso-8859-1":
            text = text.replace("€", "EUR")
        totals["charset"][charset] = totals["charset"].get(charset, 0) + 1
        r = rng.random()
        cte = "quoted-printable" if r < 0.5 else "8bit" if r < 0.8 else "base64"
        r = rng.random()
        kind = "plain" if r < 0.5 else "alternative" if r < 0.9 else "html"
        plain = encode_part(text, "plain", charset, cte)
        if kind == "plain":
            content = plain
            totals["plain_only"] += 1
        elif kind == "html":
            content = encode_part(
                to_html(text, rng), "html", charset, "quoted-printable" if cte == "8bit" else cte
            )
            totals["html_only"] += 1
        else:
            ct, body = multipart(
                "alternative", [plain, encode_part(to_html(text, rng), "html", charset, cte)], rng
            )
            content = f"Content-Type: {ct}\n\n{body}"
            totals["alternative"] += 1
        n_att = 0
        if rng.random() < p_attach:
            n_att = 1 if rng.random() < 0.8 else 2
            parts = [content]
            for _ in range(n_att):
                part, sz = attachment_part(rng, i)
                parts.append(part)
                totals["attachment_bytes"] += sz
            ct, body = multipart("mixed", parts, rng)
            content = (
                f"Content-Type: {ct}\n\nThis is a multi-part message in MIME format.\n\n{body}"
            )
            totals["attachments"] += n_att
        dt = datetime.fromtimestamp(ts, rome)
        if not is_reply:
            subject = rng.choice(SUBJ_PRE) + subject + rng.choice(SUBJ_POST)
        subj_h = encode_header(subject, charset, rng, force=rng.random() < 0.10)
        if subj_h != subject:
            totals["encoded_subject"] += 1
        disp = f"{nome} {cognome}"
        disp_h = encode_header(disp, charset, rng)
        if disp_h == disp and any(c in disp for c in "'\","):
            disp_h = f'"{disp}"'
        to = rng.choice(DESTINATARI)
        hdr = [
            f"Return-Path: <{email}>",
            f"Received: from mx{rng.randint(1, 9)}.{domain} (mx.{domain} [192.0.2.{rng.randint(1, 254)}])\n"
            f"\tby mx.comune.example.it with ESMTPS id {rng.getrandbits(40):010x}\n\tfor <{to}>; {format_datetime(dt)}",
            f"Date: {format_datetime(dt)}",
            f"From: {disp_h} <{email}>",
            f"To: {to}",
        ]
        if rng.random() < 0.05:
            hdr.append(f"Cc: {rng.choice(DESTINATARI)}")
        hdr += [f"Subject: {subj_h}", f"Message-ID: {msgid}", *headers, "MIME-Version: 1.0"]
        mailer = rng.choice(MAILERS)
        if mailer:
            hdr.append(f"X-Mailer: {mailer}")
        msg = "\n".join(hdr) + "\n" + content
        data = msg.encode("latin-1", "strict")  # every char is already a byte value
        size = len(data)
        vsize = size + data.count(b"\n")
        fname = f"{ts}.M{i:07d}P{seed}.bench,S={size},W={vsize}:2,"
        with open(cur / fname, "wb") as f:
            f.write(data)
        totals["bytes"] += size
        if in_reg:
            totals["in_registry"] += 1
        entry = {
            "idx": i,
            "file": fname,
            "message_id": msgid,
            "sender": email,
            "in_registry": in_reg,
            "codice_fiscale": cf if in_reg else None,
            "is_reply": bool(is_reply),
            "in_reply_to": parent["message_id"] if is_reply else None,
            "references": refs,
            "subject": subject,
            "attachments": n_att,
            "size": size,
            "charset": charset,
            "cte": cte,
            "kind": kind,
            "_sender": (nome, cognome, email, cf, in_reg),
            "_text": text[:1500],
            "_ts": ts,
        }
        manifest.append(entry)
        if not quiet and (i + 1) % 5000 == 0:
            print(
                f"  {i + 1}/{n} messages, {totals['bytes'] / 1e6:.0f} MB, {time.monotonic() - t_start:.1f}s",
                flush=True,
            )

    with open(tmp / "manifest.jsonl", "w", encoding="utf-8") as f:
        for e in manifest:
            f.write(
                json.dumps(
                    {k: v for k, v in e.items() if not k.startswith("_")}, ensure_ascii=False
                )
                + "\n"
            )
    meta = {
        "n": n,
        "seed": seed,
        "registry_size": n_reg,
        "generator_seconds": round(time.monotonic() - t_start, 2),
        "expected_new_work_orders": n - totals["replies"],
        **totals,
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return meta


def ensure(n: int, seed: int, quiet=False) -> Path:
    out = corpus_dir(n, seed)
    if (out / "meta.json").exists():
        return out
    if not quiet:
        print(f"generating corpus n={n} seed={seed} -> {out}", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    generate(n, seed, out, quiet=quiet)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    out = corpus_dir(a.n, a.seed)
    if a.force and out.exists():
        shutil.rmtree(out)
    out = ensure(a.n, a.seed)
    print(json.dumps(json.loads((out / "meta.json").read_text()), indent=2))
