"""Every change to coaching: products, coaches, engagements (one transition function for the
state machine), goals and milestones, sessions with their action items, the customer's
confirmation of attendance, and feedback.

Each service is keyword-only, atomic, locks what it changes (``select_for_update``) and writes an
audit event in the same transaction. A refusal is a ``PermissionDenied`` (who) or a
``ValidationError`` (what), raised before anything is written.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, snapshot
from coaching.choices import (
    ENGAGEMENT_TRANSITION_ACTIONS,
    ENGAGEMENT_TRANSITIONS,
    SESSION_TRANSITIONS,
    CoachLanguage,
    ConfirmationChannel,
    EngagementStatus,
    SessionMode,
    SessionStatus,
)
from coaching.matching import normalise_skills
from coaching.models import (
    ActionItem,
    Coach,
    CoachingProduct,
    Engagement,
    Feedback,
    Goal,
    Milestone,
    Session,
)
from crm import interactions as crm_interactions
from crm.choices import Island, Sector
from crm.models import Party
from mfi.erasure import ERASED_TEXT
from mfi.money import CURRENCY_DECIMALS, round_money
from users.roles import Capability, Role

# The date each engagement status stamps when it is reached.
_STATUS_DATE_FIELDS = {
    EngagementStatus.ACCEPTED: "accepted_on",
    EngagementStatus.ACTIVE: "started_on",
    EngagementStatus.COMPLETED: "completed_on",
    EngagementStatus.CANCELLED: "cancelled_on",
}
# Statuses on which sessions may be logged and goals added.
_WORKING_STATUSES = (EngagementStatus.ACCEPTED, EngagementStatus.ACTIVE)
_OPEN_STATUSES = (EngagementStatus.REQUESTED, *_WORKING_STATUSES)
MIN_SESSION_MINUTES = 5
MAX_SESSION_MINUTES = 600
# An action item without a due date becomes a CRM task due this many days after the session.
ACTION_ITEM_DEFAULT_DAYS = 7

_PRODUCT_FIELDS = (
    "name",
    "description",
    "package_hours",
    "price",
    "currency",
    "subsidy_percent",
    "programme",
    "is_active",
)
# Fields an update may change and audits (the VAT rate too; a creation audits it when set).
_PRODUCT_CHANGEABLE = (*_PRODUCT_FIELDS, "vat_rate")
_COACH_FIELDS = (
    "is_volunteer",
    "skills",
    "sectors",
    "languages",
    "islands",
    "capacity_hours_per_month",
    "accreditation_name",
    "accreditation_expires_on",
    "hourly_rate",
    "currency",
    "is_active",
)


def _raw_values(instance, fields: Iterable[str]) -> dict[str, Any]:
    """Field values as Python compares them (Decimal("10") == Decimal("10.00"))."""
    return {field: getattr(instance, instance._meta.get_field(field).attname) for field in fields}


def business_date() -> datetime.date:
    """Today in the institution's time zone."""
    return timezone.localdate()


# --- who may do what ---------------------------------------------------------------------------


def _require(actor, capability: Capability) -> None:
    if actor is None or not actor.has_capability(capability):
        raise PermissionDenied(_("Your role may not do this."))


def _party_in_scope(actor, party: Party) -> bool:
    if actor.sees_assigned_only:
        return party.assigned_to_id == actor.pk
    scope = actor.branch_scope_ids()
    return scope is None or party.branch_id in scope


def _engagement_in_scope(actor, engagement: Engagement) -> bool:
    """Coaches: their own engagements; branch staff: their branch's parties; head office: all."""
    if actor.sees_assigned_only:
        return engagement.coach.user_id == actor.pk
    scope = actor.branch_scope_ids()
    return scope is None or engagement.party.branch_id in scope


def _is_engagement_coach(actor, engagement: Engagement) -> bool:
    return engagement.coach.user_id == actor.pk


def _require_manager(actor, engagement: Engagement) -> None:
    _require(actor, Capability.COACHING_MANAGE)
    if not _engagement_in_scope(actor, engagement):
        raise PermissionDenied(_("This engagement is outside your scope."))


def _require_coach_or_manager(actor, engagement: Engagement) -> None:
    """The engagement's own coach, or a coaching manager whose scope covers it."""
    if actor is None or not actor.is_active:
        raise PermissionDenied(_("Your role may not do this."))
    if _is_engagement_coach(actor, engagement) and actor.has_capability(
        Capability.COACHING_SESSION_LOG
    ):
        return
    _require_manager(actor, engagement)


def _require_session_logger(actor, engagement: Engagement) -> None:
    """The engagement's coach, or staff who may log sessions for the engagements in scope."""
    _require(actor, Capability.COACHING_SESSION_LOG)
    if _is_engagement_coach(actor, engagement):
        return
    if actor.sees_assigned_only or not _engagement_in_scope(actor, engagement):
        raise PermissionDenied(_("Only the engagement's coach may log its sessions."))


# --- locking -----------------------------------------------------------------------------------


def _lock_engagement(engagement: Engagement) -> Engagement:
    return (
        Engagement.objects.select_for_update(of=("self",))
        .select_related("party", "coach", "coach__user", "product")
        .get(pk=engagement.pk)
    )


def _lock_session(session: Session) -> tuple[Session, Engagement]:
    """Lock the engagement first, then the session (always in this order, so two services
    touching the same engagement cannot deadlock)."""
    engagement = _lock_engagement(session.engagement)
    locked = Session.objects.select_for_update().get(pk=session.pk)
    locked.engagement = engagement
    return locked, engagement


# --- products ----------------------------------------------------------------------------------


def _validate_product(product: CoachingProduct) -> None:
    errors: dict[str, list[str]] = {}
    product.full_clean(exclude=["programme"], validate_unique=False, validate_constraints=False)
    if product.package_hours is not None and product.package_hours <= 0:
        errors.setdefault("package_hours", []).append(_("A package has at least some hours."))
    if product.price is not None:
        if product.price < 0:
            errors.setdefault("price", []).append(_("A price cannot be negative."))
        elif round_money(product.price, product.currency) != product.price:
            errors.setdefault("price", []).append(
                _("The price has more decimals than %(currency)s allows.")
                % {"currency": product.currency}
            )
    percent = product.subsidy_percent
    if percent is not None and not Decimal(0) <= percent <= Decimal(100):
        errors.setdefault("subsidy_percent", []).append(
            _("The subsidy is a percentage between 0 and 100.")
        )
    elif percent and product.programme_id is None:
        errors.setdefault("programme", []).append(_("Say which programme pays the subsidy."))
    vat_rate = product.vat_rate
    if vat_rate is not None and not Decimal(0) <= vat_rate <= Decimal(100):
        errors.setdefault("vat_rate", []).append(_("The VAT rate is a percentage from 0 to 100."))
    clash = CoachingProduct.objects.filter(name__iexact=product.name).exclude(pk=product.pk)
    if product.name and clash.exists():
        errors.setdefault("name", []).append(_("A product with this name already exists."))
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def coaching_product_create(
    *,
    actor,
    name: str,
    package_hours: Decimal,
    price: Decimal,
    currency: str = "CVE",
    subsidy_percent: Decimal = Decimal(0),
    programme=None,
    description: str = "",
    is_active: bool = True,
    vat_rate: Decimal = Decimal(0),
) -> CoachingProduct:
    """A new coaching package (hours for a price), optionally part-paid by a programme."""
    _require(actor, Capability.COACHING_MANAGE)
    product = CoachingProduct(
        name=(name or "").strip(),
        description=description,
        package_hours=package_hours,
        price=price,
        currency=currency,
        subsidy_percent=subsidy_percent if subsidy_percent is not None else Decimal(0),
        vat_rate=vat_rate if vat_rate is not None else Decimal(0),
        programme=programme,
        is_active=is_active,
    )
    _validate_product(product)
    product.save()
    audit_record(
        actor=actor,
        action="coaching_product.created",
        target=product,
        after=snapshot(product, _PRODUCT_CHANGEABLE if product.vat_rate else _PRODUCT_FIELDS),
    )
    return product


@transaction.atomic
def coaching_product_update(
    *, actor, product: CoachingProduct, changes: dict[str, Any]
) -> CoachingProduct:
    """Change a product. Engagements already sold keep the hours, price and subsidy they had."""
    _require(actor, Capability.COACHING_MANAGE)
    unknown = set(changes) - set(_PRODUCT_CHANGEABLE)
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))}
        )
    locked = CoachingProduct.objects.select_for_update().get(pk=product.pk)
    before, before_values = (
        snapshot(locked, _PRODUCT_CHANGEABLE),
        _raw_values(locked, _PRODUCT_CHANGEABLE),
    )
    for field, value in changes.items():
        setattr(locked, field, value.strip() if field == "name" else value)
    if locked.subsidy_percent is None:
        locked.subsidy_percent = Decimal(0)
    if locked.vat_rate is None:
        locked.vat_rate = Decimal(0)
    _validate_product(locked)
    after, after_values = (
        snapshot(locked, _PRODUCT_CHANGEABLE),
        _raw_values(locked, _PRODUCT_CHANGEABLE),
    )
    changed = [
        field for field in _PRODUCT_CHANGEABLE if before_values[field] != after_values[field]
    ]
    if changed:
        locked.save(update_fields=changed)
        audit_record(
            actor=actor,
            action="coaching_product.updated",
            target=locked,
            before={field: before[field] for field in changed},
            after={field: after[field] for field in changed},
        )
    return locked


# --- coaches -----------------------------------------------------------------------------------


def _choice_list(values: Iterable[str], allowed: Iterable[str], field: str) -> list[str]:
    allowed = set(allowed)
    result: list[str] = []
    for value in values or ():
        if value not in allowed:
            raise ValidationError(
                {field: _("“%(value)s” is not a valid choice.") % {"value": value}}
            )
        if value not in result:
            result.append(value)
    return result


def _clean_coach(coach: Coach) -> None:
    coach.skills = normalise_skills(coach.skills or ())
    coach.sectors = _choice_list(coach.sectors, Sector.values, "sectors")
    coach.languages = _choice_list(coach.languages, CoachLanguage.values, "languages")
    coach.islands = _choice_list(coach.islands, Island.values, "islands")
    errors: dict[str, list[str]] = {}
    if coach.capacity_hours_per_month is None or coach.capacity_hours_per_month < 0:
        errors["capacity_hours_per_month"] = [_("Capacity is zero or more hours a month.")]
    if coach.hourly_rate is None or coach.hourly_rate < 0:
        errors["hourly_rate"] = [_("An hourly rate cannot be negative.")]
    if coach.accreditation_expires_on and not coach.accreditation_name:
        errors["accreditation_name"] = [_("Name the accreditation that expires.")]
    if coach.currency not in CURRENCY_DECIMALS:
        errors["currency"] = [_("Unknown currency.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def coach_create(
    *,
    actor,
    user,
    capacity_hours_per_month: Decimal,
    is_volunteer: bool = False,
    skills: Sequence[str] = (),
    sectors: Sequence[str] = (),
    languages: Sequence[str] = (),
    islands: Sequence[str] = (),
    accreditation_name: str = "",
    accreditation_expires_on: datetime.date | None = None,
    hourly_rate: Decimal = Decimal(0),
    currency: str = "CVE",
) -> Coach:
    """The coach profile of a user whose role is coach (staff or volunteer)."""
    _require(actor, Capability.COACHING_MANAGE)
    if user.role != Role.COACH:
        raise ValidationError({"user": _("Only a user with the coach role can have a profile.")})
    if Coach.objects.filter(user=user).exists():
        raise ValidationError({"user": _("This user already has a coach profile.")})
    coach = Coach(
        user=user,
        is_volunteer=is_volunteer,
        skills=list(skills),
        sectors=list(sectors),
        languages=list(languages),
        islands=list(islands),
        capacity_hours_per_month=capacity_hours_per_month,
        accreditation_name=(accreditation_name or "").strip(),
        accreditation_expires_on=accreditation_expires_on,
        hourly_rate=hourly_rate,
        currency=currency,
    )
    _clean_coach(coach)
    try:
        with transaction.atomic():
            coach.save()
    except IntegrityError as exc:  # lost a race against a profile for the same user
        raise ValidationError({"user": _("This user already has a coach profile.")}) from exc
    audit_record(
        actor=actor,
        action="coaching_coach.created",
        target=coach,
        branch_id=user.branch_id,
        after={"user": user.pk, **snapshot(coach, _COACH_FIELDS)},
    )
    return coach


@transaction.atomic
def coach_update(*, actor, coach: Coach, changes: dict[str, Any]) -> Coach:
    _require(actor, Capability.COACHING_MANAGE)
    unknown = set(changes) - set(_COACH_FIELDS)
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))}
        )
    locked = Coach.objects.select_for_update(of=("self",)).select_related("user").get(pk=coach.pk)
    before, before_values = snapshot(locked, _COACH_FIELDS), _raw_values(locked, _COACH_FIELDS)
    for field, value in changes.items():
        setattr(locked, field, value)
    _clean_coach(locked)
    after, after_values = snapshot(locked, _COACH_FIELDS), _raw_values(locked, _COACH_FIELDS)
    changed = [field for field in _COACH_FIELDS if before_values[field] != after_values[field]]
    if changed:
        locked.save(update_fields=changed)
        audit_record(
            actor=actor,
            action="coaching_coach.updated",
            target=locked,
            branch_id=locked.user.branch_id,
            before={field: before[field] for field in changed},
            after={field: after[field] for field in changed},
        )
    return locked


# --- engagements -------------------------------------------------------------------------------


@transaction.atomic
def engagement_request(
    *,
    actor,
    party: Party,
    product: CoachingProduct,
    coach: Coach,
    needs: str = "",
    skills: Sequence[str] = (),
    sector: str = "",
    island: str = "",
    language: str = "",
    requested_on: datetime.date | None = None,
) -> Engagement:
    """A party (client or not) asks for coaching on a product with a chosen coach.

    The engagement copies the product's hours, price, currency and subsidy as sold today.
    """
    _require(actor, Capability.COACHING_MANAGE)
    if not _party_in_scope(actor, party):
        raise PermissionDenied(_("This party is outside your scope."))
    requested_on = requested_on or business_date()
    product = CoachingProduct.objects.select_for_update().get(pk=product.pk)
    coach = Coach.objects.select_for_update(of=("self",)).select_related("user").get(pk=coach.pk)
    errors: dict[str, list[str]] = {}
    if not product.is_active:
        errors["product"] = [_("This product is no longer sold.")]
    if not coach.is_active or not coach.user.is_active:
        errors["coach"] = [_("This coach is not taking engagements.")]
    elif not coach.accreditation_valid_on(requested_on):
        errors["coach"] = [
            _("The coach's accreditation expired on %(date)s.")
            % {"date": coach.accreditation_expires_on.isoformat()}
        ]
    if requested_on > business_date():
        errors["requested_on"] = [_("A request cannot be dated in the future.")]
    if sector and sector not in Sector.values:
        errors["sector"] = [_("Unknown sector.")]
    if island and island not in Island.values:
        errors["island"] = [_("Unknown island.")]
    if language and language not in CoachLanguage.values:
        errors["language"] = [_("Unknown language.")]
    if errors:
        raise ValidationError(errors)
    engagement = Engagement.objects.create(
        party=party,
        product=product,
        coach=coach,
        status=EngagementStatus.REQUESTED,
        needs=(needs or "").strip(),
        requested_skills=normalise_skills(skills),
        requested_sector=sector or "",
        requested_island=island or "",
        requested_language=language or "",
        package_hours=product.package_hours,
        price=product.price,
        currency=product.currency,
        subsidy_percent=product.subsidy_percent,
        requested_on=requested_on,
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action="coaching_engagement.requested",
        target=engagement,
        branch_id=party.branch_id,
        after={
            "status": EngagementStatus.REQUESTED,
            "party": party.pk,
            "product": product.pk,
            "coach": coach.pk,
            "package_hours": str(product.package_hours),
            "price": str(product.price),
            "currency": product.currency,
            "subsidy_percent": str(product.subsidy_percent),
            "requested_on": requested_on.isoformat(),
        },
    )
    return engagement


def _latest_engagement_date(engagement: Engagement) -> datetime.date:
    dates = [engagement.requested_on, engagement.accepted_on, engagement.started_on]
    return max(day for day in dates if day is not None)


def _status_label(status: str) -> str:
    return str(EngagementStatus(status).label).lower()


def _cancel_planned_sessions(engagement: Engagement) -> list[int]:
    planned = list(
        Session.objects.select_for_update()
        .filter(engagement=engagement, status=SessionStatus.PLANNED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if planned:
        Session.objects.filter(pk__in=planned).update(status=SessionStatus.CANCELLED)
    return planned


def _transition(
    engagement: Engagement, to_status: str, *, actor, on: datetime.date, reason: str = ""
) -> Engagement:
    """Move a locked engagement along its state machine, stamp the date, audit the move."""
    if to_status not in EngagementStatus.values:
        raise ValidationError({"status": _("Unknown status.")})
    if to_status not in ENGAGEMENT_TRANSITIONS[engagement.status]:
        raise ValidationError(
            _("An engagement that is %(from)s cannot become %(to)s.")
            % {"from": _status_label(engagement.status), "to": _status_label(to_status)}
        )
    if on > business_date():
        raise ValidationError({"on": _("A change of status cannot be dated in the future.")})
    latest = _latest_engagement_date(engagement)
    if on < latest:
        raise ValidationError(
            {"on": _("The date cannot be before %(date)s.") % {"date": latest.isoformat()}}
        )
    reason = (reason or "").strip()
    if to_status == EngagementStatus.CANCELLED and not reason:
        raise ValidationError({"reason": _("Say why the engagement is cancelled.")})
    before = engagement.status
    date_field = _STATUS_DATE_FIELDS[to_status]
    engagement.status = to_status
    setattr(engagement, date_field, on)
    update_fields = ["status", date_field]
    after: dict[str, Any] = {"status": to_status, date_field: on.isoformat()}
    if to_status == EngagementStatus.CANCELLED:
        engagement.cancellation_reason = reason[:250]
        update_fields.append("cancellation_reason")
        after["cancellation_reason"] = engagement.cancellation_reason
    if to_status in (EngagementStatus.COMPLETED, EngagementStatus.CANCELLED):
        cancelled = _cancel_planned_sessions(engagement)
        if cancelled:
            after["planned_sessions_cancelled"] = cancelled
    engagement.save(update_fields=update_fields)
    audit_record(
        actor=actor,
        action=f"coaching_engagement.{ENGAGEMENT_TRANSITION_ACTIONS[to_status]}",
        target=engagement,
        branch_id=engagement.party.branch_id,
        before={"status": before},
        after=after,
    )
    return engagement


@transaction.atomic
def engagement_transition(
    *,
    actor,
    engagement: Engagement,
    to_status: str,
    on: datetime.date | None = None,
    reason: str = "",
) -> Engagement:
    """Accept, start, complete or cancel an engagement (the allowed moves are
    ``ENGAGEMENT_TRANSITIONS``). Its coach or a coaching manager in scope may do it; cancelling
    needs a reason and cancels the planned sessions; completing cancels them too."""
    locked = _lock_engagement(engagement)
    _require_coach_or_manager(actor, locked)
    return _transition(locked, to_status, actor=actor, on=on or business_date(), reason=reason)


# --- goals and milestones ---------------------------------------------------------------------


def _require_open(engagement: Engagement) -> None:
    if engagement.status not in _OPEN_STATUSES:
        raise ValidationError(
            _("The engagement is %(status)s; nothing can be added to it.")
            % {"status": _status_label(engagement.status)}
        )


@transaction.atomic
def goal_add(
    *,
    actor,
    engagement: Engagement,
    description: str,
    target_value: Decimal | None = None,
    target_unit: str = "",
    target_date: datetime.date | None = None,
) -> Goal:
    """A measurable goal: what, how much (value and unit) and by when."""
    locked = _lock_engagement(engagement)
    _require_coach_or_manager(actor, locked)
    _require_open(locked)
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": _("Describe the goal.")})
    if target_value is not None and not (target_unit or "").strip():
        raise ValidationError({"target_unit": _("Give the unit of the target value.")})
    goal = Goal(
        engagement=locked,
        description=description,
        target_value=target_value,
        target_unit=(target_unit or "").strip(),
        target_date=target_date,
    )
    goal.full_clean(exclude=["engagement"])
    goal.save()
    audit_record(
        actor=actor,
        action="coaching_goal.added",
        target=goal,
        branch_id=locked.party.branch_id,
        after=snapshot(
            goal, ["engagement", "description", "target_value", "target_unit", "target_date"]
        ),
    )
    return goal


@transaction.atomic
def goal_mark_achieved(*, actor, goal: Goal, achieved_on: datetime.date | None = None) -> Goal:
    engagement = _lock_engagement(goal.engagement)
    _require_coach_or_manager(actor, engagement)
    if engagement.status == EngagementStatus.CANCELLED:
        raise ValidationError(_("The engagement is cancelled."))
    locked = Goal.objects.select_for_update().get(pk=goal.pk)
    if locked.is_achieved:
        raise ValidationError(_("This goal is already marked as achieved."))
    achieved_on = achieved_on or business_date()
    if achieved_on > business_date():
        raise ValidationError({"achieved_on": _("A goal cannot be achieved in the future.")})
    locked.is_achieved = True
    locked.achieved_on = achieved_on
    locked.save(update_fields=["is_achieved", "achieved_on"])
    audit_record(
        actor=actor,
        action="coaching_goal.achieved",
        target=locked,
        branch_id=engagement.party.branch_id,
        before={"is_achieved": False},
        after={"is_achieved": True, "achieved_on": achieved_on.isoformat()},
    )
    return locked


@transaction.atomic
def milestone_add(
    *,
    actor,
    engagement: Engagement,
    title: str,
    due_on: datetime.date | None = None,
    goal: Goal | None = None,
) -> Milestone:
    locked = _lock_engagement(engagement)
    _require_coach_or_manager(actor, locked)
    _require_open(locked)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Name the milestone.")})
    if goal is not None and goal.engagement_id != locked.pk:
        raise ValidationError({"goal": _("The goal belongs to another engagement.")})
    milestone = Milestone(engagement=locked, goal=goal, title=title[:200], due_on=due_on)
    milestone.save()
    audit_record(
        actor=actor,
        action="coaching_milestone.added",
        target=milestone,
        branch_id=locked.party.branch_id,
        after=snapshot(milestone, ["engagement", "goal", "title", "due_on"]),
    )
    return milestone


@transaction.atomic
def milestone_mark_reached(
    *, actor, milestone: Milestone, reached_on: datetime.date | None = None
) -> Milestone:
    engagement = _lock_engagement(milestone.engagement)
    _require_coach_or_manager(actor, engagement)
    if engagement.status == EngagementStatus.CANCELLED:
        raise ValidationError(_("The engagement is cancelled."))
    locked = Milestone.objects.select_for_update().get(pk=milestone.pk)
    if locked.is_reached:
        raise ValidationError(_("This milestone is already reached."))
    reached_on = reached_on or business_date()
    if reached_on > business_date():
        raise ValidationError({"reached_on": _("A milestone cannot be reached in the future.")})
    locked.is_reached = True
    locked.reached_on = reached_on
    locked.save(update_fields=["is_reached", "reached_on"])
    audit_record(
        actor=actor,
        action="coaching_milestone.reached",
        target=locked,
        branch_id=engagement.party.branch_id,
        before={"is_reached": False},
        after={"is_reached": True, "reached_on": reached_on.isoformat()},
    )
    return locked


# --- sessions ----------------------------------------------------------------------------------

_SESSION_AUDIT_FIELDS = [
    "engagement",
    "status",
    "scheduled_at",
    "duration_minutes",
    "mode",
    "situation",
    "advice",
    "agreed_actions",
]


def _check_session_time(
    engagement: Engagement, status: str, scheduled_at: datetime.datetime
) -> None:
    if timezone.is_naive(scheduled_at):
        raise ValidationError({"scheduled_at": _("Give the session's time with its time zone.")})
    if status in (SessionStatus.HELD, SessionStatus.NO_SHOW):
        if scheduled_at > timezone.now():
            raise ValidationError(
                {"scheduled_at": _("A session that took place cannot be in the future.")}
            )
        day = timezone.localdate(scheduled_at)
        if engagement.accepted_on and day < engagement.accepted_on:
            raise ValidationError(
                {
                    "scheduled_at": _(
                        "The engagement was accepted on %(date)s; a session cannot be earlier."
                    )
                    % {"date": engagement.accepted_on.isoformat()}
                }
            )


def _start_on_first_held_session(engagement: Engagement, session: Session, *, actor) -> None:
    """The first held session of an accepted engagement starts it (on the session's date)."""
    if engagement.status == EngagementStatus.ACCEPTED and session.status == SessionStatus.HELD:
        _transition(
            engagement,
            EngagementStatus.ACTIVE,
            actor=actor,
            on=timezone.localdate(session.scheduled_at),
        )


def _clean_action_items(
    action_items: Iterable[tuple[str, datetime.date | None]], *, session_day: datetime.date
) -> list[tuple[str, datetime.date | None]]:
    cleaned = []
    for text, due_on in action_items or ():
        text = " ".join((text or "").split())
        if not text:
            continue
        if len(text) > 250:
            raise ValidationError({"action_items": _("An action item has at most 250 characters.")})
        if due_on is not None and due_on < session_day:
            raise ValidationError(
                {"action_items": _("An action item cannot be due before the session.")}
            )
        cleaned.append((text, due_on))
    return cleaned


def _action_item_task(
    *, actor, engagement: Engagement, text: str, due_on: datetime.date | None, session_day
) -> int | None:
    """The CRM follow-up task of one action item, for the engagement's party, assigned to the
    coach; due on the item's date (or a week after the session), never in the past.

    The CRM decides who may give whom a task about which party: when it refuses (say the coach
    does not follow this party in the CRM) the action item is kept without a task and the
    session is logged all the same.
    """
    due_date = max(
        due_on or session_day + datetime.timedelta(days=ACTION_ITEM_DEFAULT_DAYS), business_date()
    )
    try:
        with transaction.atomic():
            task = crm_interactions.task_create(
                actor=actor,
                title=(_("Coaching action: %(text)s") % {"text": text})[:200],
                due_date=due_date,
                assigned_to=engagement.coach.user,
                party=engagement.party,
            )
    except (PermissionDenied, ValidationError):
        return None
    return task.pk


@transaction.atomic
def session_log(
    *,
    actor,
    engagement: Engagement,
    scheduled_at: datetime.datetime,
    duration_minutes: int = 60,
    mode: str = SessionMode.IN_PERSON,
    status: str = SessionStatus.HELD,
    situation: str = "",
    advice: str = "",
    agreed_actions: str = "",
    action_items: Sequence[tuple[str, datetime.date | None]] = (),
) -> Session:
    """Log a session of an accepted or active engagement: planned (ahead), held or a no-show.

    Held and no-show sessions cannot be in the future nor before the engagement was accepted.
    The first held session of an accepted engagement starts it. Action items are stored with the
    session, each with a CRM follow-up task for the party assigned to the coach when the CRM
    accepts it (see ``_action_item_task``).
    """
    locked = _lock_engagement(engagement)
    _require_session_logger(actor, locked)
    errors: dict[str, list[str]] = {}
    if status not in (SessionStatus.PLANNED, SessionStatus.HELD, SessionStatus.NO_SHOW):
        errors["status"] = [_("A session is logged as planned, held or a no-show.")]
    if mode not in SessionMode.values:
        errors["mode"] = [_("Unknown mode.")]
    if not MIN_SESSION_MINUTES <= int(duration_minutes or 0) <= MAX_SESSION_MINUTES:
        errors["duration_minutes"] = [
            _("A session lasts between %(min)s and %(max)s minutes.")
            % {"min": MIN_SESSION_MINUTES, "max": MAX_SESSION_MINUTES}
        ]
    if errors:
        raise ValidationError(errors)
    if locked.status not in _WORKING_STATUSES:
        raise ValidationError(
            _("Sessions are logged on accepted or active engagements; this one is %(status)s.")
            % {"status": _status_label(locked.status)}
        )
    _check_session_time(locked, status, scheduled_at)
    session_day = timezone.localdate(scheduled_at)
    items = _clean_action_items(action_items, session_day=session_day)
    session = Session.objects.create(
        engagement=locked,
        status=status,
        scheduled_at=scheduled_at,
        duration_minutes=int(duration_minutes),
        mode=mode,
        situation=(situation or "").strip(),
        advice=(advice or "").strip(),
        agreed_actions=(agreed_actions or "").strip(),
        logged_by=actor,
    )
    created = ActionItem.objects.bulk_create(
        ActionItem(
            session=session,
            text=text,
            due_on=due_on,
            task_id=_action_item_task(
                actor=actor, engagement=locked, text=text, due_on=due_on, session_day=session_day
            ),
        )
        for text, due_on in items
    )
    audit_record(
        actor=actor,
        action="coaching_session.logged",
        target=session,
        branch_id=locked.party.branch_id,
        after={
            **snapshot(session, _SESSION_AUDIT_FIELDS),
            "action_items": [
                {
                    "text": item.text,
                    "due_on": item.due_on.isoformat() if item.due_on else None,
                    "task": item.task_id,
                }
                for item in created
            ],
        },
    )
    _start_on_first_held_session(locked, session, actor=actor)
    return session


@transaction.atomic
def session_transition(
    *,
    actor,
    session: Session,
    to_status: str,
    duration_minutes: int | None = None,
) -> Session:
    """Record what became of a planned session: held (optionally with its real duration),
    a no-show, or cancelled. The first held session of an accepted engagement starts it."""
    locked, engagement = _lock_session(session)
    _require_session_logger(actor, engagement)
    if to_status not in SessionStatus.values:
        raise ValidationError({"status": _("Unknown status.")})
    if to_status not in SESSION_TRANSITIONS[locked.status]:
        raise ValidationError(
            _("A session that is %(from)s cannot become %(to)s.")
            % {
                "from": str(SessionStatus(locked.status).label).lower(),
                "to": str(SessionStatus(to_status).label).lower(),
            }
        )
    if to_status != SessionStatus.CANCELLED and engagement.status not in _WORKING_STATUSES:
        raise ValidationError(
            _("Sessions are logged on accepted or active engagements; this one is %(status)s.")
            % {"status": _status_label(engagement.status)}
        )
    _check_session_time(engagement, to_status, locked.scheduled_at)
    update_fields = ["status"]
    before = {"status": locked.status}
    after: dict[str, Any] = {"status": to_status}
    if duration_minutes is not None and to_status == SessionStatus.HELD:
        if not MIN_SESSION_MINUTES <= duration_minutes <= MAX_SESSION_MINUTES:
            raise ValidationError(
                {
                    "duration_minutes": _("A session lasts between %(min)s and %(max)s minutes.")
                    % {"min": MIN_SESSION_MINUTES, "max": MAX_SESSION_MINUTES}
                }
            )
        if duration_minutes != locked.duration_minutes:
            before["duration_minutes"] = locked.duration_minutes
            after["duration_minutes"] = duration_minutes
            locked.duration_minutes = duration_minutes
            update_fields.append("duration_minutes")
    locked.status = to_status
    locked.save(update_fields=update_fields)
    audit_record(
        actor=actor,
        action=f"coaching_session.{to_status}",
        target=locked,
        branch_id=engagement.party.branch_id,
        before=before,
        after=after,
    )
    _start_on_first_held_session(engagement, locked, actor=actor)
    return locked


@transaction.atomic
def session_confirm_by_customer(
    *,
    session: Session,
    channel: str,
    actor=None,
) -> Session:
    """The customer confirms they attended a held session.

    Through the signed link the customer confirms it themselves (no actor). A member of staff may
    record a confirmation the customer gave them, but not the session's own coach: the
    confirmation is the customer's word that the coaching took place.
    """
    locked, engagement = _lock_session(session)
    if channel == ConfirmationChannel.STAFF:
        _require_manager(actor, engagement)
        if _is_engagement_coach(actor, engagement):
            raise PermissionDenied(_("A coach cannot confirm their own session."))
    elif channel == ConfirmationChannel.SIGNED_LINK:
        actor = None
    else:
        raise ValidationError({"channel": _("Unknown confirmation channel.")})
    if locked.status != SessionStatus.HELD:
        raise ValidationError(_("Only a held session can be confirmed."))
    if locked.confirmed_by_customer_at is not None:
        raise ValidationError(
            _("The customer already confirmed this session on %(date)s.")
            % {"date": timezone.localdate(locked.confirmed_by_customer_at).isoformat()}
        )
    locked.confirmed_by_customer_at = timezone.now()
    locked.confirmation_channel = channel
    locked.confirmation_recorded_by = actor
    locked.save(
        update_fields=[
            "confirmed_by_customer_at",
            "confirmation_channel",
            "confirmation_recorded_by",
        ]
    )
    audit_record(
        actor=actor,
        action="coaching_session.confirmed_by_customer",
        target=locked,
        branch_id=engagement.party.branch_id,
        before={"confirmed_by_customer_at": None},
        after={
            "confirmed_by_customer_at": locked.confirmed_by_customer_at.isoformat(),
            "confirmation_channel": channel,
        },
    )
    return locked


# --- feedback ----------------------------------------------------------------------------------


@transaction.atomic
def feedback_record(*, actor, engagement: Engagement, rating: int, comment: str = "") -> Feedback:
    """The customer's rating (1–5) and comment on a completed engagement, recorded by a coaching
    manager (never by the coach who is rated). One feedback per engagement."""
    locked = _lock_engagement(engagement)
    _require_manager(actor, locked)
    if _is_engagement_coach(actor, locked):
        raise PermissionDenied(_("A coach cannot record feedback on their own engagement."))
    if locked.status != EngagementStatus.COMPLETED:
        raise ValidationError(_("Feedback is given once the engagement is completed."))
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationError({"rating": _("A rating is a whole number from 1 to 5.")})
    if Feedback.objects.filter(engagement=locked).exists():
        raise ValidationError(_("Feedback for this engagement is already on file."))
    feedback = Feedback.objects.create(
        engagement=locked, rating=rating, comment=(comment or "").strip(), recorded_by=actor
    )
    audit_record(
        actor=actor,
        action="coaching_feedback.recorded",
        target=feedback,
        branch_id=locked.party.branch_id,
        after={"engagement": locked.pk, "rating": rating, "comment": feedback.comment},
    )
    return feedback


# --- billing -----------------------------------------------------------------------------------
#
# Billing choice: by the hour. Each held session not yet on an active invoice line becomes one
# line, minutes × (engagement price ÷ package hours ÷ 60), rounded once to the currency's minor
# unit. Hours beyond the package are billed at the same rate. The whole total goes to coaching
# receivables (Dr 1340 total / Cr 4500 net / Cr 2400 VAT); the programme's subsidy share is shown on the invoice and is
# collected, like the customer's share, through ``payment_record``.

INVOICE_PAYMENT_TERM_DAYS = 30
_INVOICE_FIELDS = (
    "number",
    "status",
    "issue_date",
    "due_date",
    "currency",
    "net",
    "vat_rate",
    "vat_amount",
    "total",
    "subsidy_amount",
    "customer_amount",
    "amount_paid",
)
# A key of its own for pg_advisory_xact_lock, so invoice numbers are handed out one at a time.
_INVOICE_NUMBER_LOCK = 0x43494E56  # "CINV"


def _coaching_rule_set():
    """The posting rule set with a coaching-invoice rule (cash and accrual agree on coaching)."""
    from accounting.choices import PostingEvent
    from accounting.models import PostingRuleSet

    rule_set = (
        PostingRuleSet.objects.filter(rules__event=PostingEvent.COACHING_INVOICE)
        .order_by("pk")
        .first()
    )
    if rule_set is None:
        raise ValidationError(_("No posting rule set has a rule for coaching invoices."))
    return rule_set


def _next_invoice_number(issue_date: datetime.date) -> str:
    """CI-<year>-<five digits>, one sequence per year, handed out under an advisory lock."""
    from django.db import connection

    from coaching.models import CoachingInvoice

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_INVOICE_NUMBER_LOCK])
    prefix = f"CI-{issue_date.year}-"
    last = (
        CoachingInvoice.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    sequence = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{sequence:05d}"


def _invoice_transition(invoice, to_status: str, *, actor, extra_fields=(), before=None):
    """Move an invoice along INVOICE_TRANSITIONS, save and audit the move."""
    from coaching.choices import INVOICE_TRANSITIONS

    if to_status not in INVOICE_TRANSITIONS[invoice.status]:
        raise ValidationError(
            _("A %(from)s invoice cannot become %(to)s.")
            % {"from": invoice.get_status_display(), "to": to_status}
        )
    invoice.status = to_status
    invoice.save(update_fields=["status", *extra_fields])
    audit_record(
        actor=actor,
        action=f"coaching_invoice.{to_status}",
        target=invoice,
        before=before,
        after=snapshot(invoice, _INVOICE_FIELDS),
    )
    return invoice


@transaction.atomic
def invoice_for_engagement(*, actor, engagement: Engagement, issue_date: datetime.date):
    """Invoice the held sessions of an engagement not billed yet, and post the invoice.

    VAT is ``round_money(net × vat_rate / 100)`` and the total net + VAT. Posts one entry:
    Dr coaching receivables (total) / Cr coaching revenue (net) / Cr VAT payable (VAT).
    Refused when nothing is left to bill, or when the invoice carries VAT and the posting rule
    set has no coaching-VAT rule. Returns the issued ``CoachingInvoice``.
    """
    from accounting.choices import EntrySource, PostingEvent
    from accounting.services import event_post
    from coaching.choices import InvoiceStatus
    from coaching.models import CoachingInvoice, CoachingInvoiceLine

    _require_manager(actor, engagement)
    engagement = _lock_engagement(engagement)
    product = engagement.product
    currency = engagement.currency
    if issue_date < engagement.requested_on:
        raise ValidationError({"issue_date": _("An invoice cannot predate the engagement.")})
    sessions = list(
        engagement.sessions.select_for_update()
        .filter(status=SessionStatus.HELD)
        .exclude(invoice_lines__is_active=True)
        .order_by("scheduled_at", "pk")
    )
    sessions = [s for s in sessions if timezone.localdate(s.scheduled_at) <= issue_date]
    if not sessions:
        raise ValidationError(
            _("Nothing to bill: every held session of this engagement is already invoiced.")
        )
    hourly_price = engagement.price / engagement.package_hours
    lines = []
    for session in sessions:
        amount = round_money(
            Decimal(session.duration_minutes) * hourly_price / Decimal(60), currency
        )
        hours = (Decimal(session.duration_minutes) / Decimal(60)).quantize(Decimal("0.01"))
        lines.append(
            CoachingInvoiceLine(
                session=session,
                description=_("Coaching session of %(date)s (%(minutes)s min)")
                % {
                    "date": timezone.localtime(session.scheduled_at).strftime("%Y-%m-%d"),
                    "minutes": session.duration_minutes,
                },
                hours=hours,
                unit_price=hourly_price.quantize(Decimal("0.0001")),
                amount=amount,
            )
        )
    net = sum((line.amount for line in lines), Decimal(0))
    vat_amount = round_money(net * product.vat_rate / Decimal(100), currency)
    total = net + vat_amount
    rule_set = _coaching_rule_set()
    if vat_amount and not rule_set.rules.filter(event=PostingEvent.COACHING_VAT).exists():
        raise ValidationError(
            _(
                "%(product)s has a VAT rate of %(rate)s %%, but the posting rules have no rule "
                "for VAT on coaching invoices: ask the accountant to set up VAT first."
            )
            % {"product": product, "rate": product.vat_rate.normalize()}
        )
    subsidy = round_money(net * engagement.subsidy_percent / Decimal(100), currency)
    invoice = CoachingInvoice(
        number=_next_invoice_number(issue_date),
        engagement=engagement,
        party=engagement.party,
        branch_id=engagement.party.branch_id,
        issue_date=issue_date,
        due_date=issue_date + datetime.timedelta(days=INVOICE_PAYMENT_TERM_DAYS),
        currency=currency,
        net=net,
        vat_rate=product.vat_rate,
        vat_amount=vat_amount,
        total=total,
        subsidy_amount=subsidy,
        customer_amount=total - subsidy,
        status=InvoiceStatus.DRAFT,
        created_by=actor,
    )
    invoice.save()
    for line in lines:
        line.invoice = invoice
    CoachingInvoiceLine.objects.bulk_create(lines)
    invoice.journal_entry = event_post(
        actor=actor,
        rule_set=rule_set,
        entry_date=issue_date,
        branch=engagement.party.branch,
        currency=currency,
        amounts={PostingEvent.COACHING_INVOICE: net, PostingEvent.COACHING_VAT: vat_amount},
        description=_("Coaching invoice %(number)s · %(party)s")
        % {"number": invoice.number, "party": engagement.party},
        source=EntrySource.COACHING_INVOICE,
        source_reference=invoice.number,
    )
    return _invoice_transition(
        invoice,
        InvoiceStatus.ISSUED,
        actor=actor,
        extra_fields=["journal_entry"],
        before={"status": InvoiceStatus.DRAFT},
    )


def _lock_invoice(invoice):
    from coaching.models import CoachingInvoice

    locked = (
        CoachingInvoice.objects.select_for_update(of=("self",))
        .select_related("engagement", "engagement__coach", "engagement__party", "branch")
        .get(pk=invoice.pk)
    )
    return locked


@transaction.atomic
def payment_record(*, actor, invoice, amount: Decimal, date: datetime.date, channel: str):
    """Record money received against an invoice: Dr branch cash / Cr coaching receivables.

    Partial payments are allowed; more than the balance is refused. The invoice becomes paid
    when its balance reaches zero. Returns the ``CoachingPayment``.
    """
    from django.db.models import F

    from accounting.choices import EntrySource, PostingEvent
    from accounting.services import event_post
    from coaching.choices import InvoiceStatus, PaymentChannel
    from coaching.models import CoachingPayment

    _require_manager(actor, invoice.engagement)
    invoice = _lock_invoice(invoice)
    if invoice.status != InvoiceStatus.ISSUED:
        raise ValidationError(
            _("Payments are recorded on issued invoices; this one is %(status)s.")
            % {"status": invoice.get_status_display()}
        )
    if channel not in PaymentChannel.values:
        raise ValidationError({"channel": _("Choose how the invoice was paid.")})
    if amount is None or amount <= 0:
        raise ValidationError({"amount": _("A payment is a positive amount.")})
    if round_money(amount, invoice.currency) != amount:
        raise ValidationError(
            {
                "amount": _("The amount has more decimals than %(currency)s allows.")
                % {"currency": invoice.currency}
            }
        )
    if amount > invoice.balance:
        raise ValidationError(
            {
                "amount": _("This is more than the %(balance)s %(currency)s still due.")
                % {"balance": invoice.balance, "currency": invoice.currency}
            }
        )
    if date < invoice.issue_date:
        raise ValidationError({"date": _("A payment cannot predate the invoice.")})
    before = snapshot(invoice, _INVOICE_FIELDS)
    entry = event_post(
        actor=actor,
        rule_set=_coaching_rule_set(),
        entry_date=date,
        branch=invoice.branch,
        currency=invoice.currency,
        amounts={PostingEvent.COACHING_PAYMENT: amount},
        description=_("Payment of coaching invoice %(number)s") % {"number": invoice.number},
        source=EntrySource.COACHING_INVOICE,
        # One entry per source event: each payment gets its own reference under the invoice lock.
        source_reference=f"{invoice.number}-P{invoice.payments.count() + 1}",
    )
    payment = CoachingPayment.objects.create(
        invoice=invoice,
        date=date,
        amount=amount,
        channel=channel,
        journal_entry=entry,
        recorded_by=actor,
    )
    type(invoice).objects.filter(pk=invoice.pk).update(amount_paid=F("amount_paid") + amount)
    invoice.refresh_from_db(fields=["amount_paid"])
    audit_record(
        actor=actor,
        action="coaching_payment.recorded",
        target=payment,
        branch_id=invoice.branch_id,
        after={
            "invoice": invoice.number,
            "amount": str(amount),
            "date": date.isoformat(),
            "channel": channel,
        },
    )
    if invoice.balance == 0:
        _invoice_transition(invoice, InvoiceStatus.PAID, actor=actor, before=before)
    payment.invoice = invoice
    return payment


@transaction.atomic
def invoice_cancel(*, actor, invoice, reason: str, on: datetime.date | None = None):
    """Cancel an invoice nothing has been paid on: its entry is reversed (dated ``on``, today
    by default) and its sessions may be billed again."""
    from accounting.services import journal_entry_reverse_for_source
    from coaching.choices import InvoiceStatus
    from coaching.models import CoachingInvoiceLine

    _require_manager(actor, invoice.engagement)
    invoice = _lock_invoice(invoice)
    if invoice.amount_paid > 0:
        raise ValidationError(
            _("%(paid)s %(currency)s has been paid on this invoice; it cannot be cancelled.")
            % {"paid": invoice.amount_paid, "currency": invoice.currency}
        )
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the invoice is cancelled.")})
    before = snapshot(invoice, _INVOICE_FIELDS)
    on = on or business_date()
    if invoice.status == InvoiceStatus.ISSUED and invoice.journal_entry_id:
        journal_entry_reverse_for_source(
            actor=actor,
            entry=invoice.journal_entry,
            entry_date=on,
            reason=_("coaching invoice %(number)s cancelled") % {"number": invoice.number},
        )
    CoachingInvoiceLine.objects.filter(invoice=invoice).update(is_active=False)
    invoice.cancelled_on = on
    invoice.cancellation_reason = reason.strip()[:250]
    return _invoice_transition(
        invoice,
        InvoiceStatus.CANCELLED,
        actor=actor,
        extra_fields=["cancelled_on", "cancellation_reason"],
        before=before,
    )


# --- referral rules ----------------------------------------------------------------------------


def delinquency_bucket_labels() -> list[str]:
    """The delinquency bucket labels loan products use ("1-30", …, "91+"): those of the default
    buckets and of every loan product version, in order of their first day."""
    from loans.choices import DEFAULT_DELINQUENCY_BUCKETS
    from loans.models import LoanProductVersion
    from loans.services import bucket_label

    buckets = {tuple(bucket) for bucket in DEFAULT_DELINQUENCY_BUCKETS}
    for version_buckets in LoanProductVersion.objects.values_list("delinquency_buckets", flat=True):
        buckets.update(tuple(bucket) for bucket in version_buckets or [])
    ordered = sorted(buckets, key=lambda b: (b[0], b[1] is None, b[1] or 0))
    labels: list[str] = []
    for low, high in ordered:
        label = bucket_label(low, [[low, high]])
        if label and label not in labels:
            labels.append(label)
    return labels


@transaction.atomic
def referral_rule_set(*, actor, branch, bucket: str, coordinator, is_active: bool = True):
    """Create or change the branch's coaching referral rule: loans of the branch entering
    ``bucket`` (a delinquency bucket label of the loan products) give ``coordinator`` a task
    to offer coaching. Audited. Returns the ``CoachingReferralRule``."""
    from coaching.models import CoachingReferralRule

    _require(actor, Capability.COACHING_MANAGE)
    scope = actor.branch_scope_ids()
    if branch is None or (scope is not None and branch.pk not in scope):
        raise PermissionDenied(_("This branch is outside your scope."))
    bucket = (bucket or "").strip()
    labels = delinquency_bucket_labels()
    if bucket not in labels:
        raise ValidationError(
            {
                "bucket": _("Choose one of the delinquency buckets: %(labels)s.")
                % {"labels": ", ".join(labels)}
            }
        )
    if coordinator is None or not coordinator.is_active:
        raise ValidationError({"coordinator": _("Choose an active user as coordinator.")})
    if not coordinator.has_capability(Capability.COACHING_VIEW):
        raise ValidationError({"coordinator": _("The coordinator must be able to see coaching.")})
    coordinator_scope = coordinator.branch_scope_ids()
    if coordinator_scope is not None and branch.pk not in coordinator_scope:
        raise ValidationError({"coordinator": _("The coordinator does not work in this branch.")})
    fields = ["delinquency_bucket", "coordinator", "is_active"]
    rule = CoachingReferralRule.objects.select_for_update().filter(branch=branch).first()
    before = snapshot(rule, fields) if rule else None
    if rule is None:
        rule = CoachingReferralRule(branch=branch)
    rule.delinquency_bucket = bucket
    rule.coordinator = coordinator
    rule.is_active = is_active
    rule.save()
    audit_record(
        actor=actor,
        action="coaching_referral_rule.created"
        if before is None
        else "coaching_referral_rule.updated",
        target=rule,
        branch_id=branch.pk,
        before=before,
        after=snapshot(rule, fields),
    )
    return rule


def client_personal_data_erase(party) -> None:
    """An erased client's engagements keep their dates, hours and invoices; what was said
    about the person goes."""
    engagements = Engagement.objects.filter(party=party)
    engagements.update(needs="", cancellation_reason="")
    sessions = Session.objects.filter(engagement__in=engagements)
    sessions.update(situation="", advice="", agreed_actions="")
    ActionItem.objects.filter(session__in=sessions).update(text=ERASED_TEXT)
    Goal.objects.filter(engagement__in=engagements).update(description=ERASED_TEXT)
    Milestone.objects.filter(engagement__in=engagements).update(title=ERASED_TEXT)
    Feedback.objects.filter(engagement__in=engagements).update(comment="")
