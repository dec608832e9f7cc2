"""Loan screens: the portfolio, the application with its live schedule preview, the approval
inbox, the loan page and its actions (approve, reject, disburse, repay, write off, reverse),
documents and the PDFs (contract, receipt, statement).

Thin views: parse with a form, call a selector or a service, render. Every change goes through
``loans.services``; a service's refusal (PermissionDenied, ValidationError) becomes a message.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms.models import model_to_dict
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from accounting.selectors import ledger_branch_scope
from audit.selectors import events_for_object
from compliance.selectors import compliance_panel
from crm.selectors import party_get_for_user
from loans import documents, services
from loans.choices import PORTFOLIO_STATUSES, LoanStatus, TransactionKind
from loans.forms import (
    CollateralForm,
    DisbursementForm,
    GuarantorForm,
    LoanApplicationForm,
    LoanDocumentForm,
    ParDashboardForm,
    PortfolioFilterForm,
    ProductVersionForm,
    ReasonForm,
    RepaymentForm,
    SchedulePreviewForm,
    WriteOffForm,
    apply_service_errors,
    party_in_scope,
)
from loans.models import Loan, LoanProduct, Offer
from loans.portfolio import par_breakdown, par_snapshot_date, par_trend, portfolio_quality
from loans.selectors import (
    PORTFOLIO_VIEWS,
    VIEW_ALL,
    VIEW_ARREARS,
    VIEW_DUE_TODAY,
    VIEW_MINE,
    amount_due_next,
    approval_inbox,
    default_portfolio_view,
    loan_collaterals,
    loan_document_get,
    loan_documents,
    loan_get_for_user,
    loan_guarantors,
    loan_installments,
    loan_portfolio,
    loan_recent_transactions,
    loan_transaction_get,
    loan_transactions_queryset,
)
from mfi.forms import call_service, refusal_text
from mfi.money import DEFAULT_CURRENCY, round_money
from mfi.permissions import capability_required
from mfi.templatetags.money import money
from users.roles import Capability

PAGE_SIZE = 25
# The loan page shows its latest transactions and history; the rest is a page away, so the
# page costs the same for a loan with ten transactions and one with a thousand.
LOAN_PAGE_TRANSACTIONS = 12
LOAN_PAGE_EVENTS = 20
RECORDS_PAGE_SIZE = 50
VIEW_LABELS = {
    VIEW_MINE: gettext_lazy("My loans"),
    VIEW_DUE_TODAY: gettext_lazy("Due today"),
    VIEW_ARREARS: gettext_lazy("In arrears"),
    VIEW_ALL: pgettext_lazy("loans", "All"),
}


def _run_action(request, loan: Loan, action, success: str, anchor: str = ""):
    """Run one service call for the loan page; its refusal is shown as an error message."""
    try:
        action()
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, refusal_text(exc))
    else:
        messages.success(request, success)
    return redirect(loan.get_absolute_url() + anchor)


# --- portfolio and inbox ---------------------------------------------------------------------


def _portfolio_query(request):
    """The portfolio tab and filters of a request: (view, filter form, loans queryset)."""
    user = request.user
    view = request.GET.get("view", "")
    if view not in PORTFOLIO_VIEWS:
        view = default_portfolio_view(user)
    filter_form = PortfolioFilterForm(request.GET, user=user)
    filters = filter_form.cleaned_data if filter_form.is_valid() else {}
    product, branch = filters.get("product"), filters.get("branch")
    loans = loan_portfolio(
        user=user,
        view=view,
        status=filters.get("status", ""),
        product_id=product.pk if product else None,
        branch_id=branch.pk if branch else None,
    )
    return view, filter_form, loans


@capability_required(Capability.LOAN_VIEW)
def portfolio(request):
    user = request.user
    view, filter_form, loans = _portfolio_query(request)
    page = Paginator(loans, PAGE_SIZE).get_page(request.GET.get("page"))
    kept = {key: value for key, value in request.GET.items() if key not in ("page", "view")}
    kept = {key: value for key, value in kept.items() if value}
    tabs = [
        (key, VIEW_LABELS[key], "?" + urlencode({"view": key, **kept})) for key in PORTFOLIO_VIEWS
    ]
    can_approve = user.has_capability(Capability.LOAN_APPROVE)
    return render(
        request,
        "loans/portfolio.html",
        {
            "page": page,
            "view": view,
            "tabs": tabs,
            "filter_form": filter_form,
            "show_branch_filter": user.branch_scope_ids() is None
            or len(user.branch_scope_ids()) > 1,
            "query": urlencode({"view": view, **kept}),
            "can_apply": user.has_capability(Capability.LOAN_APPLY),
            "can_repay": user.has_capability(Capability.LOAN_REPAY),
            "inbox_count": approval_inbox(user).count() if can_approve else None,
            "repayable": PORTFOLIO_STATUSES,
            "report_query": urlencode({"view": view, **kept}),
        },
    )


@capability_required(Capability.LOAN_VIEW)
def portfolio_report_pdf(request):
    """The portfolio list as it is filtered on screen, every loan of it, as a PDF report."""
    view, filter_form, loans = _portfolio_query(request)
    count = loans.count()
    if count > documents.PORTFOLIO_REPORT_MAX_LOANS:
        messages.error(
            request,
            _("%(count)s loans are too many for one report (at most %(max)s): narrow the list.")
            % {"count": count, "max": documents.PORTFOLIO_REPORT_MAX_LOANS},
        )
        return redirect(reverse("loans:portfolio") + "?" + request.GET.urlencode())
    filters = filter_form.cleaned_data if filter_form.is_valid() else {}
    facts = [(_("List"), VIEW_LABELS[view])]
    for name in ("status", "product", "branch"):
        value = filters.get(name)
        if value:
            label = LoanStatus(value).label if name == "status" else str(value)
            facts.append((filter_form.fields[name].label, label))
    return _pdf(
        documents.portfolio_report_pdf(loans=loans, facts=facts, user=request.user),
        f"portfolio-{timezone.localdate():%Y%m%d}.pdf",
    )


@capability_required(Capability.LOAN_VIEW)
def par_dashboard(request):
    """Portfolio at risk (PAR1/30/90) of the user's branches: the headline figures, per branch
    (or per loan officer within one branch), per product, and month by month."""
    user = request.user
    form = ParDashboardForm(request.GET or None, user=user)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    branch = filters.get("branch")
    currency = filters.get("currency") or DEFAULT_CURRENCY
    day = filters.get("date") or timezone.localdate()
    branch_ids = ledger_branch_scope(user, branch.pk if branch else None)
    as_of = par_snapshot_date(on_or_before=day, currency=currency)
    one_branch = branch is not None or (branch_ids is not None and len(branch_ids) == 1)
    context = {"form": form, "as_of": as_of, "currency": currency, "by_officer": one_branch}
    if as_of is not None:
        scope = {"as_of": as_of, "branch_ids": branch_ids, "currency": currency}
        trend = par_trend(**scope)
        highest = max((row.par30 for row in trend), default=0) or 1
        context.update(
            quality=portfolio_quality(**scope),
            groups=par_breakdown(group="officer" if one_branch else "branch", **scope),
            products=par_breakdown(group="product", **scope),
            trend=[
                (row, int(360 * row.par30 / highest), index * 30) for index, row in enumerate(trend)
            ],
            chart_height=len(trend) * 30,
        )
    return render(request, "loans/par_dashboard.html", context)


@capability_required(Capability.LOAN_APPROVE)
def approvals(request):
    page = Paginator(approval_inbox(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "loans/approvals.html", {"page": page, "query": ""})


# --- application and preview -----------------------------------------------------------------


def _preview_context(user, data) -> dict:
    """The schedule a set of terms would give, computed in memory (nothing is stored).
    Invalid terms give their messages, never an exception."""
    form = SchedulePreviewForm(data)
    context = {"borrower": party_in_scope(user, data.get("borrower")) if data else None}
    if not data or not data.get("product"):
        return {**context, "state": "empty"}
    valid = form.is_valid()
    version = form.version
    context["version"] = version
    if version is not None and not str(data.get("principal", "")).strip():
        return {**context, "state": "terms"}
    if not valid:
        return {**context, "state": "invalid", "errors": _labelled_errors(form)}
    terms = form.cleaned_data
    unsaved = Loan(
        product_version=version,
        currency=version.currency,
        principal=terms["principal"],
        annual_interest_rate=terms["annual_interest_rate"],
        number_of_repayments=terms["number_of_repayments"],
        expected_disbursement_date=terms["expected_disbursement_date"],
        first_repayment_date=terms["first_repayment_date"],
    )
    try:
        schedule = services.loan_schedule_preview(unsaved, terms["expected_disbursement_date"])
    except (ValidationError, ValueError, ArithmeticError) as exc:
        texts = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        return {**context, "state": "invalid", "errors": [("", " ".join(texts))]}
    totals = Counter(row.total for row in schedule.installments)
    return {
        **context,
        "state": "schedule",
        "schedule": schedule,
        "currency": version.currency,
        "installment_amount": totals.most_common(1)[0][0] if totals else None,
        "terms": terms,
    }


def _labelled_errors(form) -> list[tuple[str, str]]:
    rows = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        rows.extend((label, str(error)) for error in errors)
    return rows


@require_POST
@capability_required(Capability.LOAN_APPLY)
def loan_preview(request):
    """htmx: the schedule table for the terms being typed into the application form."""
    return render(
        request, "loans/_schedule_preview.html", _preview_context(request.user, request.POST)
    )


@capability_required(Capability.LOAN_APPLY)
def loan_create(request):
    user = request.user
    initial = {"borrower": request.GET["borrower"]} if request.GET.get("borrower") else {}
    form = LoanApplicationForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        loan = call_service(
            form,
            lambda: services.loan_submit(
                actor=user,
                borrower=data["borrower"],
                product=data["product"],
                principal=data["principal"],
                purpose=data["purpose"],
                expected_disbursement_date=data["expected_disbursement_date"],
                annual_interest_rate=data["annual_interest_rate"],
                number_of_repayments=data["number_of_repayments"],
                first_repayment_date=data["first_repayment_date"],
            ),
        )
        if loan is not None:
            messages.success(
                request,
                _("Application %(number)s submitted; another person must approve it.")
                % {"number": loan.number},
            )
            return redirect(loan.get_absolute_url())
    preview = _preview_context(user, request.POST if request.method == "POST" else None)
    return render(request, "loans/loan_form.html", {"form": form, **preview})


# --- the loan page ---------------------------------------------------------------------------


@capability_required(Capability.LOAN_VIEW)
def loan_detail(request, pk: int):
    user = request.user
    loan = loan_get_for_user(user, pk)
    installments = loan_installments(loan=loan)
    projected = None
    if not installments and loan.status in (LoanStatus.SUBMITTED, LoanStatus.APPROVED):
        try:
            projected = services.loan_schedule_preview(loan)
        except ValidationError:
            projected = None
    recent, transaction_count = loan_recent_transactions(loan=loan, limit=LOAN_PAGE_TRANSACTIONS)
    events = list(events_for_object(target=loan)[: LOAN_PAGE_EVENTS + 1])
    can = {
        "apply": user.has_capability(Capability.LOAN_APPLY),
        "approve": user.has_capability(Capability.LOAN_APPROVE),
        "disburse": user.has_capability(Capability.LOAN_DISBURSE),
        "repay": user.has_capability(Capability.LOAN_REPAY),
        "write_off": user.has_capability(Capability.LOAN_WRITE_OFF),
    }
    return render(
        request,
        "loans/loan_detail.html",
        {
            "loan": loan,
            "version": loan.product_version,
            "frequency": documents.repayment_frequency_label(loan.product_version),
            "installments": installments,
            "projected": projected,
            "transactions": recent,
            "transaction_count": transaction_count,
            "documents": loan_documents(loan=loan),
            "guarantors": loan_guarantors(loan=loan),
            "collaterals": loan_collaterals(loan=loan),
            "events": events[:LOAN_PAGE_EVENTS],
            "compliance": compliance_panel(user, loan=loan),
            "more_events": len(events) > LOAN_PAGE_EVENTS,
            "can": can,
            "is_submitter": loan.submitted_by_id == user.pk,
            "is_submitted": loan.status == LoanStatus.SUBMITTED,
            "is_approved": loan.status == LoanStatus.APPROVED,
            "is_repayable": loan.status in PORTFOLIO_STATUSES,
            "is_active": loan.status == LoanStatus.ACTIVE,
            "document_form": LoanDocumentForm(),
            "repayment_kind": TransactionKind.REPAYMENT,
            "today": timezone.localdate(),
        },
    )


def _can_reverse(user) -> bool:
    return user.has_capability(Capability.LOAN_WRITE_OFF)


@capability_required(Capability.LOAN_VIEW)
def loan_transactions_page(request, pk: int):
    """Every transaction of a loan, oldest first, a page at a time."""
    loan = loan_get_for_user(request.user, pk)
    page = Paginator(loan_transactions_queryset(loan=loan), RECORDS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "loans/loan_transactions.html",
        {
            "loan": loan,
            "page": page,
            "transactions": page.object_list,
            "can": {"write_off": _can_reverse(request.user)},
            "repayment_kind": TransactionKind.REPAYMENT,
            "query": "",
        },
    )


@capability_required(Capability.LOAN_VIEW)
def loan_history_page(request, pk: int):
    """The loan's whole audit trail, newest first, a page at a time."""
    loan = loan_get_for_user(request.user, pk)
    page = Paginator(events_for_object(target=loan), RECORDS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "loans/loan_history.html",
        {"loan": loan, "page": page, "events": page.object_list, "query": ""},
    )


@require_POST
@capability_required(Capability.LOAN_APPROVE)
def loan_approve(request, pk: int):
    loan = loan_get_for_user(request.user, pk)
    return _run_action(
        request,
        loan,
        lambda: services.loan_approve(actor=request.user, loan=loan),
        _("Loan %(number)s approved.") % {"number": loan.number},
    )


@require_POST
@capability_required(Capability.LOAN_APPROVE)
def loan_reject(request, pk: int):
    loan = loan_get_for_user(request.user, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the application is rejected."))
        return redirect(loan.get_absolute_url())
    return _run_action(
        request,
        loan,
        lambda: services.loan_reject(
            actor=request.user, loan=loan, reason=form.cleaned_data["reason"]
        ),
        _("Application %(number)s rejected.") % {"number": loan.number},
    )


@require_POST
@capability_required(Capability.LOAN_APPROVE)
def loan_undo_approval(request, pk: int):
    loan = loan_get_for_user(request.user, pk)
    return _run_action(
        request,
        loan,
        lambda: services.loan_undo_approval(actor=request.user, loan=loan),
        _("The approval of %(number)s was undone; it is submitted again.")
        % {"number": loan.number},
    )


@require_POST
@capability_required(Capability.LOAN_APPLY)
def loan_withdraw(request, pk: int):
    loan = loan_get_for_user(request.user, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the application is withdrawn."))
        return redirect(loan.get_absolute_url())
    return _run_action(
        request,
        loan,
        lambda: services.loan_withdraw(
            actor=request.user, loan=loan, reason=form.cleaned_data["reason"]
        ),
        _("Application %(number)s withdrawn.") % {"number": loan.number},
    )


@capability_required(Capability.LOAN_DISBURSE)
def loan_disburse(request, pk: int):
    loan = loan_get_for_user(request.user, pk)
    if loan.status != LoanStatus.APPROVED:
        messages.error(request, _("Only an approved loan can be disbursed."))
        return redirect(loan.get_absolute_url())
    form = DisbursementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _done = call_service(
            form,
            lambda: services.loan_disburse(
                actor=request.user,
                loan=loan,
                disbursed_on=form.cleaned_data["disbursed_on"],
                channel=form.cleaned_data["channel"],
            ),
        )
        if _done is not None:
            messages.success(
                request,
                _("Loan %(number)s disbursed: %(amount)s %(currency)s.")
                % {
                    "number": loan.number,
                    "amount": money(loan.principal, loan.currency),
                    "currency": loan.currency,
                },
            )
            return redirect(loan.get_absolute_url())
    return render(request, "loans/disburse_form.html", {"loan": loan, "form": form})


def _split_message(txn, currency: str) -> str:
    text = _(
        "Repayment of %(amount)s %(currency)s recorded: principal %(principal)s, "
        "interest %(interest)s, fees %(fees)s, penalties %(penalties)s."
    ) % {
        "amount": money(txn.amount, currency),
        "currency": currency,
        "principal": money(txn.principal_portion, currency),
        "interest": money(txn.interest_portion, currency),
        "fees": money(txn.fee_portion, currency),
        "penalties": money(txn.penalty_portion, currency),
    }
    if txn.overpayment_portion:
        text += " " + _("Overpaid: %(amount)s.") % {
            "amount": money(txn.overpayment_portion, currency)
        }
    return text


@capability_required(Capability.LOAN_REPAY)
def repayment_create(request, pk: int):
    loan = loan_get_for_user(request.user, pk)
    if loan.status not in PORTFOLIO_STATUSES:
        messages.error(request, _("Repayments are recorded on active loans only."))
        return redirect(loan.get_absolute_url())
    due_now = round_money(amount_due_next(loan=loan), loan.currency)
    form = RepaymentForm(request.POST or None, initial={"amount": due_now or None})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        txn = call_service(
            form,
            lambda: services.repayment_record(
                actor=request.user,
                loan=loan,
                amount=data["amount"],
                value_date=data["value_date"],
                channel=data["channel"],
                receipt_number=data["receipt_number"],
            ),
        )
        if txn is not None:
            messages.success(request, _split_message(txn, loan.currency))
            return redirect(loan.get_absolute_url())
    return render(
        request, "loans/repayment_form.html", {"loan": loan, "form": form, "due_now": due_now}
    )


@capability_required(Capability.LOAN_WRITE_OFF)
def loan_write_off(request, pk: int):
    loan = loan_get_for_user(request.user, pk)
    if loan.status != LoanStatus.ACTIVE:
        messages.error(request, _("Only an active loan can be written off."))
        return redirect(loan.get_absolute_url())
    form = WriteOffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _done = call_service(
            form,
            lambda: services.loan_write_off(
                actor=request.user,
                loan=loan,
                reason=form.cleaned_data["reason"],
                written_off_on=form.cleaned_data["written_off_on"],
            ),
        )
        if _done is not None:
            messages.success(request, _("Loan %(number)s written off.") % {"number": loan.number})
            return redirect(loan.get_absolute_url())
    return render(request, "loans/write_off_form.html", {"loan": loan, "form": form})


@require_POST
@capability_required(Capability.LOAN_WRITE_OFF)
def repayment_reverse(request, pk: int, transaction_id: int):
    loan = loan_get_for_user(request.user, pk)
    txn = loan_transaction_get(loan=loan, transaction_id=transaction_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the repayment is reversed."))
        return redirect(loan.get_absolute_url() + "#transactions")
    return _run_action(
        request,
        loan,
        lambda: services.repayment_reverse(
            actor=request.user, transaction_id=txn.pk, reason=form.cleaned_data["reason"]
        ),
        _("Repayment of %(amount)s %(currency)s reversed.")
        % {"amount": money(txn.amount, loan.currency), "currency": loan.currency},
        anchor="#transactions",
    )


# --- documents -------------------------------------------------------------------------------


@require_POST
@capability_required(Capability.LOAN_APPLY)
def document_add(request, pk: int):
    loan = loan_get_for_user(request.user, pk)
    form = LoanDocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(loan.get_absolute_url() + "#documents")
    return _run_action(
        request,
        loan,
        lambda: services.loan_document_add(
            actor=request.user,
            loan=loan,
            kind=form.cleaned_data["kind"],
            file=form.cleaned_data["file"],
        ),
        _("Document added."),
        anchor="#documents",
    )


@capability_required(Capability.LOAN_VIEW)
def document_download(request, pk: int, document_id: int):
    """Serve a loan document, only to users who may see the loan."""
    loan = loan_get_for_user(request.user, pk)
    document = loan_document_get(loan=loan, document_id=document_id)
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.file.name.rsplit("/", 1)[-1],
    )


# --- PDFs ------------------------------------------------------------------------------------


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@capability_required(Capability.LOAN_VIEW)
def contract_pdf(request, pk: int):
    loan = loan_get_for_user(request.user, pk)
    return _pdf(documents.contract_pdf(loan=loan, user=request.user), f"{loan.number}-contract.pdf")


@capability_required(Capability.LOAN_VIEW)
def statement_pdf(request, pk: int):
    loan = loan_get_for_user(request.user, pk)
    return _pdf(
        documents.statement_pdf(loan=loan, user=request.user),
        f"{loan.number}-statement-{timezone.localdate():%Y%m%d}.pdf",
    )


@capability_required(Capability.LOAN_VIEW)
def receipt_pdf(request, pk: int, transaction_id: int):
    loan = loan_get_for_user(request.user, pk)
    txn = loan_transaction_get(loan=loan, transaction_id=transaction_id)
    if txn.kind != TransactionKind.REPAYMENT:
        raise Http404("Receipts are for repayments")
    return _pdf(
        documents.receipt_pdf(loan=loan, transaction=txn, user=request.user),
        f"{loan.number}-receipt-{txn.pk}.pdf",
    )


@require_POST
@capability_required(Capability.LOAN_APPLY)
def guarantor_add(request, pk: int):
    loan = loan_get_for_user(request.user, pk)
    form = GuarantorForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the guarantor's party number and a positive amount."))
        return redirect(loan.get_absolute_url() + "#guarantees")

    def add():
        party = party_get_for_user(user=request.user, party_id=form.cleaned_data["party"])
        services.loan_guarantor_add(
            actor=request.user, loan=loan, party=party, amount=form.cleaned_data["amount"]
        )

    try:
        return _run_action(request, loan, add, _("Guarantor added."), "#guarantees")
    except Http404:
        messages.error(request, _("No party with that number in your scope."))
        return redirect(loan.get_absolute_url() + "#guarantees")


@require_POST
@capability_required(Capability.LOAN_APPLY)
def collateral_add(request, pk: int):
    loan = loan_get_for_user(request.user, pk)
    form = CollateralForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Describe the collateral and give a positive value."))
        return redirect(loan.get_absolute_url() + "#guarantees")
    return _run_action(
        request,
        loan,
        lambda: services.loan_collateral_add(actor=request.user, loan=loan, **form.cleaned_data),
        _("Collateral added."),
        "#guarantees",
    )


@capability_required(Capability.LOAN_VIEW)
def catalogue(request):
    """The offers the institution runs, their products and each product's current terms."""
    offers = list(Offer.objects.prefetch_related("products__versions").order_by("name"))
    for offer in offers:  # the latest terms from the prefetched versions, not a query each
        for product in offer.products.all():
            product.latest_version = max(
                product.versions.all(), key=lambda version: version.version, default=None
            )
    return render(
        request,
        "loans/catalogue.html",
        {
            "offers": offers,
            "can_manage": request.user.has_capability(Capability.LOAN_PRODUCT_ADMIN),
        },
    )


@capability_required(Capability.LOAN_PRODUCT_ADMIN)
def product_version_create(request, product_id: int):
    product = LoanProduct.objects.filter(pk=product_id).first()
    if product is None:
        raise Http404
    current = product.current_version
    form = ProductVersionForm(
        request.POST or None, instance=None, initial=model_to_dict(current) if current else None
    )
    if request.method == "POST" and form.is_valid():
        terms = dict(form.cleaned_data)
        if current is not None:
            terms["allocation_order"] = current.allocation_order
            terms["delinquency_buckets"] = current.delinquency_buckets
        try:
            version = services.product_version_create(
                actor=request.user, product=product, terms=terms
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Version %(version)s of %(product)s saved; loans "
                    "already approved keep their terms."
                )
                % {"version": version.version, "product": product},
            )
            return redirect("loans:catalogue")
    return render(
        request,
        "loans/product_version_form.html",
        {"form": form, "product": product, "current": current},
    )
