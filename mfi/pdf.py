"""The platform's PDFs: one page layout (running title, institution, who printed it when,
"page X of Y") and one renderer, WeasyPrint from a Django template. Every app's printable
documents (contracts, statements, reports, exports) go through ``render_pdf``."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _


def _css_string(text: str) -> str:
    """A CSS string literal; user text (a name) cannot close it or the style element."""
    escaped = "".join(f"\\{ord(char):x} " if char in '\\"<>\n\r' else char for char in str(text))
    return f'"{escaped}"'


def page_decorations(title: str, user) -> dict[str, str]:
    """Running header and footer: title, institution, who printed it when, page X of Y."""
    generated_at = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    # "Page X of Y" as one translatable sentence, its numbers filled by CSS page counters.
    page_pattern = _("Page %(page)s of %(pages)s") % {"page": "\0page\0", "pages": "\0pages\0"}
    page_counter = " ".join(
        "counter(page)"
        if part == "page"
        else "counter(pages)"
        if part == "pages"
        else _css_string(part)
        for part in page_pattern.split("\0")
        if part
    )
    footer = _("MFI platform · generated %(at)s by %(user)s") % {
        "at": generated_at,
        "user": user.display_name,
    }
    return {
        "generated_at": generated_at,
        "generated_by": user.display_name,
        "page_counter_css": page_counter,
        "footer_css": _css_string(footer),
        "title_css": _css_string(title),
        "institution_css": _css_string(_("MFI platform")),
    }


def render_pdf(template: str, context: dict, *, title: str, user) -> bytes:
    from weasyprint import HTML  # heavy import, only when a PDF is asked for

    html = render_to_string(template, {**context, "title": title, **page_decorations(title, user)})
    return HTML(string=html).write_pdf()
