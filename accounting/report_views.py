"""Financial reports (trial balance, general ledger, journal, balance sheet, income statement)
as HTML, CSV (``?format=csv``) and PDF (``?format=pdf``).

One view for the five: the slug picks a filter form and a builder in ``accounting.reports``;
the builder scopes the figures to the user's branches; one template per format renders it.
"""

from __future__ import annotations

import io
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from accounting import forms_reports
from accounting.reports import BUILDERS, REPORT_TITLES, Report, report_line_count
from mfi.permissions import capability_required
from users.roles import Capability

# The most lines an export of the journal or the general ledger may carry (a PDF of a busy cash
# account's year would take WeasyPrint an hour; the screen shows any period a page at a time).
EXPORT_LIMITS = {"pdf": 3000, "csv": 200_000}
FORMS: dict[str, type[forms_reports.ReportForm]] = {
    "trial-balance": forms_reports.AsOfForm,
    "general-ledger": forms_reports.GeneralLedgerForm,
    "journal": forms_reports.JournalForm,
    "balance-sheet": forms_reports.AsOfForm,
    "income-statement": forms_reports.PeriodForm,
}


@capability_required(Capability.LEDGER_VIEW)
def report(request, name: str):
    if name not in FORMS:
        raise Http404
    form_class = FORMS[name]
    # A first visit without any filter opens with the defaults, unless the report needs a
    # choice no default can make (the ledger's account): then the empty form, without errors.
    data = None if (not request.GET and form_class.needs_input) else request.GET
    form = form_class(data, user=request.user)
    built = None
    output = request.GET.get("format", "html")
    if form.is_bound and form.is_valid():
        filters = dict(form.cleaned_data)
        if "page" in filters:  # paged on screen only
            filters["page"] = (filters["page"] or 1) if output == "html" else None
            too_many = _export_refusal(request, name, output, filters)
            if too_many:
                messages.error(request, too_many)
                filters["page"] = 1
                output = "html"
        built = BUILDERS[name](user=request.user, **filters)
        if output == "csv":
            return _csv_response(built)
        if output == "pdf":
            return _pdf_response(request, built)
    export = {}
    pages = {}
    if built is not None:
        params = form.query_params()
        params.pop("page", None)
        export = {kind: "?" + urlencode({**params, "format": kind}) for kind in ("csv", "pdf")}
        if built.page is not None:
            if built.page > 1:
                pages["previous"] = "?" + urlencode({**params, "page": built.page - 1})
            if built.has_next_page:
                pages["next"] = "?" + urlencode({**params, "page": built.page + 1})
    return render(
        request,
        "accounting/report.html",
        {
            "slug": name,
            "title": REPORT_TITLES[name],
            "form": form,
            "report": built,
            "rows": built.display_rows() if built else [],
            "export": export,
            "pages": pages,
        },
    )


def _export_refusal(request, name: str, output: str, filters: dict) -> str:
    """Why an export of the paged reports (journal, general ledger) is refused: more lines
    than a file of that kind can carry in reasonable time and memory; "" when it is fine."""
    limit = EXPORT_LIMITS.get(output)
    if limit is None:
        return ""
    branch = filters.get("branch")
    lines = report_line_count(
        name,
        user=request.user,
        date_from=filters["date_from"],
        date_to=filters["date_to"],
        branch=branch,
        account=filters.get("account"),
        currency=filters.get("currency"),
    )
    if lines <= limit:
        return ""
    return _(
        "%(lines)s lines are too many for one %(format)s file (at most %(limit)s): "
        "choose a shorter period or a branch."
    ) % {"lines": lines, "format": output.upper(), "limit": limit}


def _csv_response(built: Report) -> HttpResponse:
    stream = io.StringIO()
    built.write_csv(stream)
    response = HttpResponse(stream.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{built.filename_stem}.csv"'
    return response


def _css_string(text: str) -> str:
    """A CSS string literal; user text (a name) cannot close it or the style element."""
    escaped = "".join(f"\\{ord(char):x} " if char in '\\"<>\n\r' else char for char in str(text))
    return f'"{escaped}"'


def _pdf_response(request, built: Report) -> HttpResponse:
    from weasyprint import HTML  # heavy import, only when a PDF is asked for

    generated_at = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    generated_by = request.user.display_name
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
        "user": generated_by,
    }
    html = render_to_string(
        "accounting/report_pdf.html",
        {
            "report": built,
            "rows": built.display_rows(),
            "generated_at": generated_at,
            "generated_by": generated_by,
            "page_counter_css": page_counter,
            "footer_css": _css_string(footer),
            "title_css": _css_string(
                " · ".join([str(built.title), *(str(value) for _label, value in built.facts)])
            ),
            "institution_css": _css_string(_("MFI platform")),
        },
    )
    pdf = HTML(string=html).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{built.filename_stem}.pdf"'
    return response
