"""The coaching invoice PDF, rendered with WeasyPrint on the loans' PDF page layout (running
header, footer, page X of Y). Amounts in the invoice's currency at its minor unit. Read-only."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from coaching.models import CoachingInvoice
from mfi.pdf import page_decorations


def invoice_pdf(*, invoice: CoachingInvoice, user) -> bytes:
    from weasyprint import HTML  # heavy import, only when a PDF is asked for

    title = _("Invoice %(number)s") % {"number": invoice.number}
    html = render_to_string(
        "coaching/invoice_pdf.html",
        {
            "invoice": invoice,
            "lines": list(invoice.lines.all()),
            "payments": list(invoice.payments.all()),
            "title": title,
            **page_decorations(title, user),
        },
    )
    return HTML(string=html).write_pdf()
