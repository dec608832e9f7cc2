"""Coaching screens: the dashboard (a coach's own engagements, a manager's whole scope), products,
coaches with their load, the request form with ranked coach suggestions, the engagement page and
the phone form to log a session; plus the page a customer opens to confirm attendance.

Thin views: parse with a form, call a selector or a service, render. A service's refusal
(PermissionDenied, ValidationError) becomes a form error or a message.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from audit.selectors import events_for_object
from coaching import services
from coaching.choices import (
    ENGAGEMENT_TRANSITIONS,
    ConfirmationChannel,
    EngagementStatus,
    SessionStatus,
)
from coaching.confirmation import confirmation_token, session_id_from_token
from coaching.forms import (
    CoachForm,
    CoachingProductForm,
    EngagementRequestForm,
    FeedbackForm,
    GoalForm,
    MilestoneForm,
    SessionLogForm,
    SessionOutcomeForm,
    TransitionForm,
    apply_service_errors,
    coach_form_initial,
)
from coaching.models import Coach, CoachingProduct, Goal, Milestone, Session
from coaching.selectors import (
    coach_average_rating,
    coach_for_user,
    coach_suggestions,
    coaches_with_load,
    coaching_dashboard_counts,
    engagement_get_for_user,
    engagement_hours,
    engagement_list,
    engagement_sessions,
    feedback_for_engagement,
    match_request_for,
    products_for_list,
    session_get_for_user,
)
from crm.selectors import parties_visible_to
from mfi.forms import refusal_text
from mfi.permissions import capability_required
from users.roles import Capability

PAGE_SIZE = 25
TAB_OPEN = "open"
TAB_ALL = "all"
TABS = {
    TAB_OPEN: gettext_lazy("Open"),
    EngagementStatus.REQUESTED: gettext_lazy("Requested"),
    EngagementStatus.ACTIVE: pgettext_lazy("coaching engagement", "Active"),
    EngagementStatus.COMPLETED: pgettext_lazy("coaching engagement", "Completed"),
    TAB_ALL: pgettext_lazy("engagements", "All"),
}
# Button label of each move on the engagement page.
TRANSITION_LABELS = {
    EngagementStatus.ACCEPTED: gettext_lazy("Accept"),
    EngagementStatus.ACTIVE: gettext_lazy("Start"),
    EngagementStatus.COMPLETED: gettext_lazy("Mark completed"),
}


def _run(request, redirect_to: str, action, success: str):
    """Run one service call from the engagement page; a refusal is shown as an error message."""
    try:
        action()
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, refusal_text(exc))
    else:
        messages.success(request, success)
    return redirect(redirect_to)


def _can(user) -> dict[str, bool]:
    return {
        "manage": user.has_capability(Capability.COACHING_MANAGE),
        "log": user.has_capability(Capability.COACHING_SESSION_LOG),
    }


# --- dashboard -------------------------------------------------------------------------------


@capability_required(Capability.COACHING_VIEW)
def dashboard(request):
    user = request.user
    tab = request.GET.get("tab", TAB_OPEN)
    if tab not in TABS:
        tab = TAB_OPEN
    engagements = engagement_list(user=user)
    if tab == TAB_OPEN:
        engagements = engagements.filter(
            status__in=[
                EngagementStatus.REQUESTED,
                EngagementStatus.ACCEPTED,
                EngagementStatus.ACTIVE,
            ]
        )
    elif tab != TAB_ALL:
        engagements = engagements.filter(status=tab)
    page = Paginator(engagements, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(engagement, engagement_hours(engagement=engagement)) for engagement in page]
    return render(
        request,
        "coaching/dashboard.html",
        {
            "page": page,
            "rows": rows,
            "tab": tab,
            "tabs": [(key, label, "?" + urlencode({"tab": key})) for key, label in TABS.items()],
            "query": urlencode({"tab": tab}),
            "counts": coaching_dashboard_counts(user=user),
            "is_coach_view": user.sees_assigned_only,
            "my_coach": coach_for_user(user),
            "can": _can(user),
            "working": (EngagementStatus.ACCEPTED, EngagementStatus.ACTIVE),
        },
    )


# --- products ----------------------------------------------------------------------------------


@capability_required(Capability.COACHING_VIEW)
def product_list(request):
    return render(
        request,
        "coaching/product_list.html",
        {"products": products_for_list(), "can": _can(request.user)},
    )


def _product_values(data: dict) -> dict:
    return {
        "name": data["name"],
        "description": data["description"],
        "package_hours": data["package_hours"],
        "price": data["price"],
        "currency": data["currency"],
        "subsidy_percent": data["subsidy_percent"],
        "programme": data["programme"],
        "is_active": data["is_active"],
        **({"vat_rate": data["vat_rate"]} if data.get("vat_rate") is not None else {}),
    }


@capability_required(Capability.COACHING_MANAGE)
def product_create(request):
    form = CoachingProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.coaching_product_create(
                actor=request.user, **_product_values(form.cleaned_data)
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Product %(name)s created.") % {"name": product.name})
            return redirect("coaching:product_list")
    return render(request, "coaching/product_form.html", {"form": form, "product": None})


@capability_required(Capability.COACHING_MANAGE)
def product_edit(request, pk: int):
    product = get_object_or_404(CoachingProduct, pk=pk)
    initial = {
        "name": product.name,
        "description": product.description,
        "package_hours": product.package_hours,
        "price": product.price,
        "currency": product.currency,
        "subsidy_percent": product.subsidy_percent,
        "programme": product.programme_id,
        "is_active": product.is_active,
        "vat_rate": product.vat_rate,
    }
    form = CoachingProductForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.coaching_product_update(
                actor=request.user, product=product, changes=_product_values(form.cleaned_data)
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Product %(name)s saved.") % {"name": product.name})
            return redirect("coaching:product_list")
    return render(request, "coaching/product_form.html", {"form": form, "product": product})


# --- coaches -----------------------------------------------------------------------------------


@capability_required(Capability.COACHING_VIEW)
def coach_list(request):
    today = timezone.localdate()
    return render(
        request,
        "coaching/coach_list.html",
        {
            "rows": coaches_with_load(user=request.user, as_of=today),
            "month": today,
            "can": _can(request.user),
        },
    )


def _coach_values(data: dict) -> dict:
    return {
        key: data[key]
        for key in (
            "is_volunteer",
            "skills",
            "sectors",
            "languages",
            "islands",
            "capacity_hours_per_month",
            "accreditation_name",
            "accreditation_expires_on",
            "hourly_rate",
        )
    }


@capability_required(Capability.COACHING_MANAGE)
def coach_create(request):
    form = CoachForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            coach = services.coach_create(
                actor=request.user,
                user=form.cleaned_data["user"],
                **_coach_values(form.cleaned_data),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Coach %(name)s added.") % {"name": coach.display_name})
            return redirect("coaching:coach_list")
    return render(request, "coaching/coach_form.html", {"form": form, "coach": None})


@capability_required(Capability.COACHING_MANAGE)
def coach_edit(request, pk: int):
    coach = get_object_or_404(Coach.objects.select_related("user"), pk=pk)
    form = CoachForm(request.POST or None, coach=coach, initial=coach_form_initial(coach))
    if request.method == "POST" and form.is_valid():
        changes = {**_coach_values(form.cleaned_data), "is_active": form.cleaned_data["is_active"]}
        try:
            services.coach_update(actor=request.user, coach=coach, changes=changes)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Coach %(name)s saved.") % {"name": coach.display_name})
            return redirect("coaching:coach_list")
    return render(request, "coaching/coach_form.html", {"form": form, "coach": coach})


# --- the request with its suggestions ----------------------------------------------------------


@capability_required(Capability.COACHING_MANAGE)
def engagement_request(request):
    """Step 1 (GET or "Find coaches"): the criteria and the ranked coaches with their reasons.
    Step 2 ("Create the request"): the chosen coach; the service creates the engagement."""
    user = request.user
    initial = {"party": request.GET["party"]} if request.GET.get("party", "").isdigit() else {}
    form = EngagementRequestForm(request.POST or None, user=user, initial=initial)
    suggestions = None
    party = None
    if initial:
        party = parties_visible_to(user).filter(pk=int(initial["party"])).first()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        party = data["party"]
        suggestions = coach_suggestions(
            request_party=party,
            skills=data["skills"],
            sector=form.criterion("sector"),
            island=form.criterion("island"),
            language=data["language"],
        )
        if request.POST.get("action") == "create":
            if data["coach"] is None:
                form.add_error("coach", _("Choose one of the coaches below."))
            else:
                criteria = _stored_criteria(form, party)
                try:
                    engagement = services.engagement_request(
                        actor=user,
                        party=party,
                        product=data["product"],
                        coach=data["coach"],
                        needs=data["needs"],
                        skills=data["skills"],
                        **criteria,
                    )
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                except PermissionDenied as exc:
                    form.add_error(None, refusal_text(exc))
                else:
                    messages.success(
                        request,
                        _("Coaching requested for %(party)s with %(coach)s.")
                        % {"party": party.display_name, "coach": engagement.coach.display_name},
                    )
                    return redirect(engagement.get_absolute_url())
    return render(
        request,
        "coaching/request_form.html",
        {
            "form": form,
            "party": party,
            "suggestions": suggestions,
            "chosen": str(form.data.get("coach", "")) if form.is_bound else "",
            "can": _can(user),
        },
    )


def _stored_criteria(form: EngagementRequestForm, party) -> dict[str, str]:
    """The criteria as stored on the engagement (the party's sector or island when asked)."""
    request = match_request_for(
        request_party=party,
        sector=form.criterion("sector"),
        island=form.criterion("island"),
        language=form.cleaned_data["language"],
    )
    return {"sector": request.sector, "island": request.island, "language": request.language}


# --- the engagement page -----------------------------------------------------------------------


def _is_coach_of(user, engagement) -> bool:
    return engagement.coach.user_id == user.pk


@capability_required(Capability.COACHING_VIEW)
def engagement_detail(request, pk: int):
    user = request.user
    engagement = engagement_get_for_user(user=user, engagement_id=pk)
    can = _can(user)
    is_coach = _is_coach_of(user, engagement)
    can_change = (is_coach and can["log"]) or (can["manage"] and not user.sees_assigned_only)
    sessions = list(engagement_sessions(engagement=engagement))
    is_working = engagement.status in (EngagementStatus.ACCEPTED, EngagementStatus.ACTIVE)
    can_log = can["log"] and (is_coach or not user.sees_assigned_only) and is_working
    for session in sessions:
        session.confirm_link = ""
        if (
            can_change
            and session.status == SessionStatus.HELD
            and session.confirmed_by_customer_at is None
        ):
            session.confirm_link = request.build_absolute_uri(
                reverse("coaching:session_confirm_public", args=[confirmation_token(session.pk)])
            )
    moves = [
        (status, TRANSITION_LABELS[status])
        for status in (
            EngagementStatus.ACCEPTED,
            EngagementStatus.ACTIVE,
            EngagementStatus.COMPLETED,
        )
        if status in ENGAGEMENT_TRANSITIONS[engagement.status]
    ]
    feedback = feedback_for_engagement(engagement=engagement)
    return render(
        request,
        "coaching/engagement_detail.html",
        {
            "engagement": engagement,
            "hours": engagement_hours(engagement=engagement),
            "goals": list(engagement.goals.all()),
            "milestones": list(engagement.milestones.select_related("goal")),
            "sessions": sessions,
            "feedback": feedback,
            "coach_rating": coach_average_rating(coach=engagement.coach),
            "events": events_for_object(target=engagement)[:100],
            "can": can,
            "is_coach": is_coach,
            "can_change": can_change,
            "can_log": can_log,
            "can_confirm": can["manage"] and not is_coach,
            "can_feedback": can["manage"]
            and not is_coach
            and feedback is None
            and engagement.status == EngagementStatus.COMPLETED,
            "is_open": engagement.status
            in (EngagementStatus.REQUESTED, EngagementStatus.ACCEPTED, EngagementStatus.ACTIVE),
            "moves": moves,
            "can_cancel": EngagementStatus.CANCELLED in ENGAGEMENT_TRANSITIONS[engagement.status],
            "goal_form": GoalForm(),
            "milestone_form": MilestoneForm(),
            "feedback_form": FeedbackForm(),
            "today": timezone.localdate(),
            "planned": SessionStatus.PLANNED,
            "held": SessionStatus.HELD,
        },
    )


@require_POST
@capability_required(Capability.COACHING_VIEW)
def engagement_transition(request, pk: int):
    engagement = engagement_get_for_user(user=request.user, engagement_id=pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose what happens to the engagement."))
        return redirect(engagement.get_absolute_url())
    to_status = form.cleaned_data["status"]
    return _run(
        request,
        engagement.get_absolute_url(),
        lambda: services.engagement_transition(
            actor=request.user,
            engagement=engagement,
            to_status=to_status,
            on=form.cleaned_data["on"],
            reason=form.cleaned_data["reason"],
        ),
        _("The engagement is now %(status)s.")
        % {"status": str(EngagementStatus(to_status).label).lower()},
    )


def _add_to_engagement(request, pk: int, form_class, service, success: str):
    """Validate a small form posted from the engagement page and hand it to one service."""
    engagement = engagement_get_for_user(user=request.user, engagement_id=pk)
    form = form_class(request.POST)
    target = engagement.get_absolute_url() + "#goals"
    if not form.is_valid():
        messages.error(request, refusal_text(ValidationError(form.errors.as_text())))
        return redirect(target)
    return _run(
        request,
        target,
        lambda: service(actor=request.user, engagement=engagement, **form.cleaned_data),
        success,
    )


@require_POST
@capability_required(Capability.COACHING_VIEW)
def goal_add(request, pk: int):
    return _add_to_engagement(request, pk, GoalForm, services.goal_add, _("Goal added."))


@require_POST
@capability_required(Capability.COACHING_VIEW)
def goal_achieved(request, pk: int, goal_id: int):
    engagement = engagement_get_for_user(user=request.user, engagement_id=pk)
    goal = get_object_or_404(Goal, pk=goal_id, engagement=engagement)
    return _run(
        request,
        engagement.get_absolute_url() + "#goals",
        lambda: services.goal_mark_achieved(actor=request.user, goal=goal),
        _("Goal marked as achieved."),
    )


@require_POST
@capability_required(Capability.COACHING_VIEW)
def milestone_add(request, pk: int):
    return _add_to_engagement(
        request, pk, MilestoneForm, services.milestone_add, _("Milestone added.")
    )


@require_POST
@capability_required(Capability.COACHING_VIEW)
def milestone_reached(request, pk: int, milestone_id: int):
    engagement = engagement_get_for_user(user=request.user, engagement_id=pk)
    milestone = get_object_or_404(Milestone, pk=milestone_id, engagement=engagement)
    return _run(
        request,
        engagement.get_absolute_url() + "#goals",
        lambda: services.milestone_mark_reached(actor=request.user, milestone=milestone),
        _("Milestone reached."),
    )


@require_POST
@capability_required(Capability.COACHING_MANAGE)
def feedback_add(request, pk: int):
    engagement = engagement_get_for_user(user=request.user, engagement_id=pk)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a rating from 1 to 5."))
        return redirect(engagement.get_absolute_url() + "#feedback")
    return _run(
        request,
        engagement.get_absolute_url() + "#feedback",
        lambda: services.feedback_record(
            actor=request.user,
            engagement=engagement,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
        ),
        _("Feedback recorded."),
    )


# --- sessions ----------------------------------------------------------------------------------


@capability_required(Capability.COACHING_SESSION_LOG)
def session_create(request, pk: int):
    """The phone form: log a session of one engagement, then back to the engagement page."""
    engagement = engagement_get_for_user(user=request.user, engagement_id=pk)
    form = SessionLogForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = services.session_log(
                actor=request.user,
                engagement=engagement,
                scheduled_at=data["scheduled_at"],
                duration_minutes=data["duration_minutes"],
                mode=data["mode"],
                status=data["status"],
                situation=data["situation"],
                advice=data["advice"],
                agreed_actions=data["agreed_actions"],
                action_items=data["action_items"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc, aliases={"scheduled_at": "date"})
        except PermissionDenied as exc:
            form.add_error(None, refusal_text(exc))
        else:
            messages.success(
                request,
                _("%(status)s session of %(minutes)s minutes logged.")
                % {"status": session.get_status_display(), "minutes": session.duration_minutes},
            )
            return redirect(engagement.get_absolute_url() + "#sessions")
    return render(
        request,
        "coaching/session_form.html",
        {
            "engagement": engagement,
            "form": form,
            "hours": engagement_hours(engagement=engagement),
        },
    )


@require_POST
@capability_required(Capability.COACHING_SESSION_LOG)
def session_outcome(request, pk: int, session_id: int):
    engagement = engagement_get_for_user(user=request.user, engagement_id=pk)
    session = get_object_or_404(Session, pk=session_id, engagement=engagement)
    form = SessionOutcomeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose what became of the session."))
        return redirect(engagement.get_absolute_url() + "#sessions")
    to_status = form.cleaned_data["status"]
    return _run(
        request,
        engagement.get_absolute_url() + "#sessions",
        lambda: services.session_transition(
            actor=request.user, session=session, to_status=to_status
        ),
        _("The session is now %(status)s.")
        % {"status": str(SessionStatus(to_status).label).lower()},
    )


@require_POST
@capability_required(Capability.COACHING_MANAGE)
def session_confirm_staff(request, pk: int, session_id: int):
    """A member of staff records that the customer confirmed attending (by phone, at the desk)."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    if session.engagement_id != pk:
        raise Http404("No such session")
    return _run(
        request,
        session.engagement.get_absolute_url() + "#sessions",
        lambda: services.session_confirm_by_customer(
            actor=request.user, session=session, channel=ConfirmationChannel.STAFF
        ),
        _("The customer's confirmation is recorded."),
    )


def session_confirm_public(request, token: str):
    """The page the customer opens from the signed link: one button to confirm attendance."""
    session_id = session_id_from_token(token)
    session = (
        Session.objects.select_related("engagement__party", "engagement__coach__user")
        .filter(pk=session_id)
        .first()
        if session_id is not None
        else None
    )
    if session is None:
        raise Http404("No such session")
    state = "ask"
    error = ""
    if session.confirmed_by_customer_at is not None:
        state = "done"
    elif session.status != SessionStatus.HELD:
        state = "unavailable"
    elif request.method == "POST":
        try:
            session = services.session_confirm_by_customer(
                session=session, channel=ConfirmationChannel.SIGNED_LINK
            )
        except ValidationError as exc:
            error = refusal_text(exc)
        else:
            state = "done"
    return render(
        request,
        "coaching/confirm.html",
        {
            "session": session,
            "coach_name": session.engagement.coach.display_name,
            "first_name": getattr(
                getattr(session.engagement.party, "person", None), "first_name", ""
            )
            or session.engagement.party.display_name,
            "state": state,
            "error": error,
        },
    )


# --- billing ---------------------------------------------------------------------------------


def _invoice_page(invoice_id: int) -> str:
    return reverse("coaching:invoice_detail", args=[invoice_id])


@capability_required(Capability.COACHING_MANAGE)
def invoice_list(request):
    from coaching.choices import InvoiceStatus
    from coaching.selectors import invoice_list as invoices_for

    status = request.GET.get("status", "")
    if status not in InvoiceStatus.values:
        status = ""
    page = Paginator(invoices_for(user=request.user, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "coaching/invoice_list.html",
        {
            "page": page,
            "invoices": page.object_list,
            "status": status,
            "statuses": InvoiceStatus.choices,
            "can": _can(request.user),
        },
    )


@require_POST
@capability_required(Capability.COACHING_MANAGE)
def invoice_issue(request, pk: int):
    from coaching.forms import InvoiceIssueForm

    engagement = engagement_get_for_user(user=request.user, engagement_id=pk)
    form = InvoiceIssueForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the invoice's issue date."))
        return redirect(engagement.get_absolute_url())
    try:
        invoice = services.invoice_for_engagement(
            actor=request.user, engagement=engagement, issue_date=form.cleaned_data["issue_date"]
        )
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, refusal_text(exc))
        return redirect(engagement.get_absolute_url())
    messages.success(request, _("Invoice %(number)s issued.") % {"number": invoice.number})
    return redirect(_invoice_page(invoice.pk))


@capability_required(Capability.COACHING_MANAGE)
def invoice_detail(request, pk: int):
    from coaching.forms import InvoiceCancelForm, PaymentForm
    from coaching.selectors import invoice_get_for_user

    invoice = invoice_get_for_user(user=request.user, invoice_id=pk)
    return render(
        request,
        "coaching/invoice_detail.html",
        {
            "invoice": invoice,
            "payment_form": PaymentForm(
                initial={"amount": invoice.balance, "date": timezone.localdate()}
            ),
            "cancel_form": InvoiceCancelForm(),
            "can": _can(request.user),
        },
    )


@require_POST
@capability_required(Capability.COACHING_MANAGE)
def invoice_payment(request, pk: int):
    from coaching.forms import PaymentForm
    from coaching.selectors import invoice_get_for_user

    invoice = invoice_get_for_user(user=request.user, invoice_id=pk)
    form = PaymentForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(_invoice_page(invoice.pk))
    data = form.cleaned_data
    return _run(
        request,
        _invoice_page(invoice.pk),
        lambda: services.payment_record(
            actor=request.user,
            invoice=invoice,
            amount=data["amount"],
            date=data["date"],
            channel=data["channel"],
        ),
        _("Payment recorded."),
    )


@require_POST
@capability_required(Capability.COACHING_MANAGE)
def invoice_cancel(request, pk: int):
    from coaching.forms import InvoiceCancelForm
    from coaching.selectors import invoice_get_for_user

    invoice = invoice_get_for_user(user=request.user, invoice_id=pk)
    form = InvoiceCancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the invoice is cancelled."))
        return redirect(_invoice_page(invoice.pk))
    return _run(
        request,
        _invoice_page(invoice.pk),
        lambda: services.invoice_cancel(
            actor=request.user, invoice=invoice, reason=form.cleaned_data["reason"]
        ),
        _("Invoice cancelled; its journal entry was reversed."),
    )


@capability_required(Capability.COACHING_MANAGE)
def invoice_pdf(request, pk: int):
    from django.http import HttpResponse

    from coaching.documents import invoice_pdf as render_invoice_pdf
    from coaching.selectors import invoice_get_for_user

    invoice = invoice_get_for_user(user=request.user, invoice_id=pk)
    response = HttpResponse(
        render_invoice_pdf(invoice=invoice, user=request.user), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
    return response


@capability_required(Capability.COACHING_MANAGE)
def volunteer_hours_report(request):
    """Hours given by volunteer coaches in a period, valued at their hourly rate; ?format=csv."""
    import csv

    from django.http import HttpResponse

    from coaching.forms import VolunteerHoursForm
    from coaching.selectors import volunteer_hours
    from mfi.money import round_money

    today = timezone.localdate()
    data = request.GET if "date_from" in request.GET else None
    form = VolunteerHoursForm(data, initial={"date_from": today.replace(day=1), "date_to": today})
    if data is None:
        period = (today.replace(day=1), today)
    elif form.is_valid():
        period = (form.cleaned_data["date_from"], form.cleaned_data["date_to"])
    else:
        period = None
    rows = (
        volunteer_hours(user=request.user, date_from=period[0], date_to=period[1]) if period else []
    )
    if period and request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="volunteer-hours-{period[0]:%Y%m%d}-{period[1]:%Y%m%d}.csv"'
        )
        writer = csv.writer(response)
        writer.writerow(
            [_("Coach"), _("Sessions"), _("Hours"), _("Hourly rate"), _("Value"), _("Currency")]
        )
        for row in rows:
            writer.writerow(
                [
                    row.coach.display_name,
                    row.sessions,
                    row.hours,
                    round_money(row.coach.hourly_rate, row.currency),
                    row.value,
                    row.currency,
                ]
            )
        return response
    return render(
        request,
        "coaching/volunteer_hours.html",
        {
            "form": form,
            "rows": rows,
            "period": period,
            "query": urlencode(
                {"date_from": period[0].isoformat(), "date_to": period[1].isoformat()}
            )
            if period
            else "",
            "can": _can(request.user),
        },
    )


# --- reports -------------------------------------------------------------------------------------


@capability_required(Capability.COACHING_MANAGE)
def coaching_report(request, name: str):
    """A coaching report (``activity`` or ``portfolio``) as HTML, ``?format=csv`` or
    ``?format=pdf``; the period defaults to the current month, the branch to the whole scope."""
    import io

    from django.http import HttpResponse

    from coaching.reports import BUILDERS, REPORT_TITLES, CoachingReportForm

    if name not in BUILDERS:
        raise Http404
    today = timezone.localdate()
    data = request.GET if "date_from" in request.GET else None
    if data is None:
        data = {"date_from": today.replace(day=1).isoformat(), "date_to": today.isoformat()}
    form = CoachingReportForm(data, user=request.user)
    built = None
    if form.is_valid():
        built = BUILDERS[name](user=request.user, **form.cleaned_data)
        output = request.GET.get("format", "html")
        if output == "csv":
            stream = io.StringIO()
            built.write_csv(stream)
            response = HttpResponse(stream.getvalue(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{built.filename_stem}.csv"'
            return response
        if output == "pdf":
            from django.template.loader import render_to_string
            from weasyprint import HTML  # heavy import, only when a PDF is asked for

            html = render_to_string(
                "coaching/report_pdf.html",
                {
                    "report": built,
                    "rows": built.display_rows(),
                    "generated_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
                    "generated_by": request.user.display_name,
                },
            )
            response = HttpResponse(HTML(string=html).write_pdf(), content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="{built.filename_stem}.pdf"'
            return response
    export = {}
    if built is not None:
        params = {key: value for key, value in form.data.items() if key != "format" and value}
        export = {kind: "?" + urlencode({**params, "format": kind}) for kind in ("csv", "pdf")}
    return render(
        request,
        "coaching/report.html",
        {
            "name": name,
            "title": REPORT_TITLES[name],
            "form": form,
            "report": built,
            "rows": built.display_rows() if built else [],
            "export": export,
        },
    )


# --- referral rules ----------------------------------------------------------------------------


@capability_required(Capability.COACHING_MANAGE)
def referral_rules(request):
    """Each branch's coaching referral rule, and a form to set one."""
    from coaching.forms import ReferralRuleForm
    from coaching.models import CoachingReferralRule

    form = ReferralRuleForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.referral_rule_set(
                actor=request.user,
                branch=data["branch"],
                bucket=data["bucket"],
                coordinator=data["coordinator"],
                is_active=data["is_active"],
            )
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Referral rule of %(branch)s saved.") % {"branch": data["branch"]},
            )
            return redirect("coaching:referral_rules")
    rules = CoachingReferralRule.objects.select_related("branch", "coordinator").order_by(
        "branch__name"
    )
    scope = request.user.branch_scope_ids()
    if scope is not None:
        rules = rules.filter(branch_id__in=scope)
    return render(
        request,
        "coaching/referral_rules.html",
        {"form": form, "rules": rules, "can": _can(request.user)},
    )
