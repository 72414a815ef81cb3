"""The wording of the back office's reports pages: key → (Italian, English). The register's
own column names (`col_<key>`, after admin/reports.py REGISTER_COLUMNS) are here in both
languages; the CSV keeps the Italian ones, as `mailbot report register` writes them."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, tuple[str, str]] = {
    "reports_title": ("Registro e relazioni", "Register and reports"),
    "reports_intro_all": (
        "Il registro dei reclami di tutti gli uffici, la relazione annuale, i rimborsi e le "
        "azioni correttive.",
        "The complaints register of every office, the annual report, refunds and corrective "
        "actions.",
    ),
    "reports_intro_desk": (
        "Il registro dei reclami aperti dal suo sportello, la relazione annuale, i rimborsi e "
        "le azioni correttive della sua clientela.",
        "The register of the complaints your desk opened, the annual report, refunds and "
        "corrective actions of your own clientele.",
    ),
    "filters": ("Filtri", "Filters"),
    "year": ("Anno di ricezione", "Year received"),
    "office": ("Ufficio", "Office"),
    "desk": ("Sportello", "Desk"),
    "any_office": ("Tutti gli uffici", "Every office"),
    "any_desk": ("Tutti gli sportelli", "Every desk"),
    "my_desks": ("Tutti i miei sportelli", "All my desks"),
    "show": ("Mostra", "Show"),
    "bad_year": (
        "Anno non valido: scriva un anno tra {low} e {high}.",
        "Invalid year: write a year between {low} and {high}.",
    ),
    "bad_office": ("Ufficio sconosciuto: ne scelga uno dall'elenco.", "Unknown office: pick one."),
    "bad_desk": (
        "Sportello non disponibile: ne scelga uno dall'elenco.",
        "No such desk: pick one.",
    ),
    "fix_errors": ("Correggere i filtri indicati.", "Please correct the filters shown."),
    "register": ("Registro dei reclami", "Complaints register"),
    "register_count": (
        "{count} pratiche ricevute nel {year}",
        "{count} case(s) received in {year}",
    ),
    "register_voided": (
        "di cui {voided} annullate (escluse da ogni statistica)",
        "{voided} of them voided (left out of every figure)",
    ),
    "register_empty": ("Nessuna pratica nel registro.", "No case in the register."),
    "download_csv": ("Scarica il registro (CSV)", "Download the register (CSV)"),
    "page_of": ("Pagina {page} di {pages}", "Page {page} of {pages}"),
    "previous": ("Pagina precedente", "Previous page"),
    "next": ("Pagina successiva", "Next page"),
    "pages": ("Pagine del registro", "Register pages"),
    "annual": ("Relazione annuale", "Annual report"),
    "annual_text": (
        "La relazione annuale sui reclami del {year}, con grafici e tabelle, dai dati del "
        "registro qui sopra.",
        "The annual complaints report for {year}, with charts and tables, from the register above.",
    ),
    "annual_page": ("Apri la relazione (pagina web)", "Open the report (web page)"),
    "annual_html": ("Scarica la relazione (HTML)", "Download the report (HTML)"),
    "annual_pdf": (
        "Scarica la relazione (PDF accessibile)",
        "Download the report (accessible PDF)",
    ),
    "annual_partial": (
        "Relazione limitata ai filtri scelti: senza i risultati del questionario, che "
        "riguardano tutte le pratiche dell'anno.",
        "Report limited to the chosen filters: without the questionnaire's results, which "
        "cover every case of the year.",
    ),
    "pdf_unavailable": (
        "Il PDF non può essere prodotto su questo server: scarichi la pagina web.",
        "The PDF cannot be made on this server: download the web page instead.",
    ),
    "refunds": ("Rimborsi", "Refunds"),
    "refunds_count": ("{count} rimborsi", "{count} refund(s)"),
    "refunds_empty": ("Nessun rimborso per queste pratiche.", "No refund for these cases."),
    "refund_id": ("N.", "No."),
    "case": ("Pratica", "Case"),
    "reason": ("Motivo", "Reason"),
    "state": ("Stato", "State"),
    "owed": ("Importo", "Amount"),
    "pay_by": ("Da pagare entro", "Pay by"),
    "note": ("Nota", "Note"),
    "overdue": ("scaduto", "overdue"),
    "refund_due": ("dovuto", "due"),
    "refund_paid": ("pagato", "paid"),
    "refund_refused": ("rifiutato", "refused"),
    "actions": ("Azioni correttive", "Corrective actions"),
    "actions_count": ("{count} azioni correttive", "{count} corrective action(s)"),
    "actions_empty": ("Nessuna azione correttiva per queste pratiche.", "No corrective action."),
    "action_text": ("Azione", "Action"),
    "recorded": ("Registrata il", "Recorded on"),
    "verified": ("Verificata il", "Verified on"),
    "not_verified": ("da verificare", "to be verified"),
    "col_number": ("Pratica", "Case"),
    "col_filed_on": ("Data di ricezione", "Received on"),
    "col_author": ("Autore", "Author"),
    "col_codice_fiscale": ("Codice fiscale / P. IVA", "Tax code / VAT no."),
    "col_category": ("Categoria", "Category"),
    "col_office": ("Ufficio", "Office"),
    "col_due_on": ("Scadenza", "Due on"),
    "col_reasoned_reply_on": ("Risposta motivata", "Reasoned reply"),
    "col_protocollo": ("Protocollo", "Protocol no."),
    "col_kind": ("Tipo", "Kind"),
    "col_channel": ("Canale", "Channel"),
    "col_resolution": ("Stato", "Status"),
    "col_void_reason": ("Motivo dell'annullamento", "Reason voided"),
    "col_resolved_on": ("Data chiusura", "Closed on"),
    "col_outcome": ("Esito", "Outcome"),
    "col_solution": ("Soluzione", "Solution"),
    "col_solution_due": ("Soluzione entro", "Solution by"),
    "col_days_taken": ("Giorni impiegati", "Days taken"),
    "col_within_term": ("Entro il termine", "Within term"),
    "col_missed_term_cause": ("Causa del mancato rispetto", "Cause of the missed term"),
    "col_refund_eur": ("Rimborso dovuto (EUR)", "Refund due (EUR)"),
    "col_refund_state": ("Stato rimborso", "Refund state"),
    "col_refund_paid_eur": ("Rimborso pagato (EUR)", "Refund paid (EUR)"),
    "col_satisfaction": ("Soddisfazione (1-5)", "Satisfaction (1-5)"),
}
