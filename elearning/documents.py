"""The completion certificate as a PDF (WeasyPrint, as ``loans.documents``)."""

from __future__ import annotations

from django.template.loader import render_to_string

from elearning.models import Certificate


def certificate_pdf(*, certificate: Certificate, verify_url: str) -> bytes:
    from weasyprint import HTML  # heavy import, only when a PDF is asked for

    html = render_to_string(
        "elearning/certificate_pdf.html", {"certificate": certificate, "verify_url": verify_url}
    )
    return HTML(string=html).write_pdf()
