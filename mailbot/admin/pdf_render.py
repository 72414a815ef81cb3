"""HTML to a tagged, accessible PDF (PDF/UA-1) with WeasyPrint: the one module that imports it.

The annual report is published as a page and as a PDF; rendering the page itself keeps the two
the same (every table, the same Italian figures) and gives the PDF the page's structure as tags
(headings, tables, figures with their captions), its `<title>` and its `lang`.

WeasyPrint is imported here, when a PDF is asked for, not when the CLI starts: it loads Pango
through cffi (over two seconds on a busy 2-core machine) and needs Debian's libpango-1.0-0,
libpangoft2-1.0-0 and libharfbuzz-subset0, and a font (fonts-dejavu-core). Without them the
admin is told what to install, not shown a traceback.
"""

from __future__ import annotations

from pathlib import Path

from mailbot.errors import MailbotError

DEBIAN_PACKAGES = (
    "libpango-1.0-0",
    "libpangoft2-1.0-0",
    "libharfbuzz-subset0",
    "fonts-dejavu-core",
)
VARIANT = "pdf/ua-1"  # tagged PDF for assistive technology: structure tree, language, title


class PdfEngineMissingError(MailbotError):
    """WeasyPrint or the system libraries it loads are not installed."""

    exit_code = 1


def html_to_pdf(page: str, path: Path, base: Path | None = None) -> None:
    """Write `page` (a whole HTML document) to `path` as a tagged PDF/UA-1 document."""
    try:
        import weasyprint  # type: ignore[import-untyped]  # no stubs, no py.typed
    except (ImportError, OSError) as exc:  # OSError: cffi could not load libpango/libgobject
        raise PdfEngineMissingError(
            f"cannot make the PDF: WeasyPrint could not load ({_first_line(exc)}); install "
            f"the Debian packages {' '.join(DEBIAN_PACKAGES)}"
        ) from None
    document = weasyprint.HTML(string=page, base_url=str(base) if base else None)
    document.write_pdf(path, pdf_variant=VARIANT, pdf_tags=True)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
