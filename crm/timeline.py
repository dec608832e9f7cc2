"""Reads of the client timeline, interactions and tasks, always scoped to what the user may see.

The timeline of a party merges, newest first, its interactions, the audit events of the party's
own record (details, links, consents), its loan events (submitted, approved, disbursed,
repaid, closed ...), its coaching sessions (planned, held, no-show) and its course progress
(enrolled, lessons completed, quiz attempts, certificate). It reads no ledger and costs a fixed
number of queries, whatever the party's history.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    BooleanField,
    CharField,
    Count,
    DateField,
    DateTimeField,
    DecimalField,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from coaching.choices import SessionStatus
from coaching.selectors import sessions_visible_to
from crm.choices import InteractionKind, TaskStatus, TimelineKind
from crm.models import Consent, Enterprise, Interaction, Party, PartyLink, Person, Task
from crm.privacy import ACCESS_ACTIONS
from crm.selectors import parties_visible_to
from elearning.models import Certificate, Enrolment, LessonCompletion, QuizAttempt
from elearning.selectors import learners_visible_to
from loans.choices import TransactionKind
from loans.models import Loan
from loans.selectors import loans_visible_to
from mfi.templatetags.money import money
from users.roles import Capability

# How many entries a timeline shows at most (the newest).
TIMELINE_LIMIT = 200
INTERACTION_KINDS = frozenset(InteractionKind.values)
# Kinds of entries beyond ``TimelineKind`` (coaching sessions and course progress).
COACHING_KIND = "coaching"
COURSE_KIND = "course"
EXTRA_KINDS = (COACHING_KIND, COURSE_KIND)
TIMELINE_KIND_VALUES = frozenset(TimelineKind.values) | frozenset(EXTRA_KINDS)
# Coaching sessions on the timeline: cancelled ones never happened.
TIMELINE_SESSION_STATUSES = (SessionStatus.PLANNED, SessionStatus.HELD, SessionStatus.NO_SHOW)


def timeline_kind_choices() -> list[tuple[str, str]]:
    """Every kind a timeline can be filtered by, for the filter chips."""
    choices = list(TimelineKind.choices)
    known = {value for value, _label in choices}
    choices += [
        (value, label)
        for value, label in ((COACHING_KIND, _("Coaching")), (COURSE_KIND, _("Courses")))
        if value not in known
    ]
    return choices


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a party's timeline.

    ``when`` is aware; an event known only by its business date (a loan's approval, a
    repayment's value date) sits at the start of that day and has ``is_date_only`` set.
    """

    when: datetime.datetime
    kind: str
    title: str
    detail: str
    link: str
    actor: str = ""
    is_date_only: bool = False
    key: str = ""
    # Breaks ties between entries of the same moment: a loan's events keep their lifecycle order.
    rank: tuple = field(default=(), compare=False, repr=False)

    @property
    def kind_label(self) -> str:
        """The badge of one entry ("Call", "Loan", "Change")."""
        if self.kind in INTERACTION_KINDS:
            return InteractionKind(self.kind).label
        labels = {
            TimelineKind.LOAN: _("Loan"),
            COACHING_KIND: _("Coaching"),
            COURSE_KIND: _("Course"),
        }
        return labels.get(self.kind, _("Change"))


def _start_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# --- Interactions --------------------------------------------------------------------------------


def interactions_visible_to(user) -> QuerySet[Interaction]:
    """Interactions with every party the user may see, newest first."""
    return (
        Interaction.objects.filter(party__in=parties_visible_to(user).values("pk"))
        .select_related("party", "author", "loan")
        .order_by("-occurred_at", "-pk")
    )


def interaction_loan_choices(*, user, party: Party) -> QuerySet[Loan]:
    """The party's loans the user may see, to which an interaction can refer."""
    return loans_visible_to(user).filter(borrower=party).order_by("-submitted_on", "-pk")


def _interaction_entries(party: Party, kinds: set[str], timeline_url: str) -> list[TimelineEntry]:
    interactions = (
        party.interactions.filter(kind__in=kinds)
        .select_related("author", "loan")
        .order_by("-occurred_at", "-pk")[:TIMELINE_LIMIT]
    )
    entries = []
    for interaction in interactions:
        detail = [interaction.get_outcome_display(), interaction.notes]
        if interaction.loan_id:
            detail.append(_("Loan %(number)s") % {"number": interaction.loan.number})
        if interaction.next_action_date:
            detail.append(
                _("Next action on %(date)s") % {"date": interaction.next_action_date.isoformat()}
            )
        entries.append(
            TimelineEntry(
                when=interaction.occurred_at,
                kind=interaction.kind,
                title=interaction.summary,
                detail=" · ".join(part for part in detail if part),
                link=f"{timeline_url}#interaction-{interaction.pk}",
                actor=interaction.author.display_name,
                key=f"interaction-{interaction.pk}",
                rank=(2, interaction.pk),
            )
        )
    return entries


# --- Changes of the party's record (audit trail) ----------------------------------------------


def _change_titles() -> dict[str, str]:
    return {
        "person.created": _("Person registered"),
        "enterprise.created": _("Enterprise registered"),
        "person.updated": _("Details changed"),
        "enterprise.updated": _("Details changed"),
        "party_link.created": _("Link added"),
        "party_link.deleted": _("Link removed"),
        "consent.given": _("Consent given"),
        "consent.withdrawn": _("Consent withdrawn"),
    }


def _party_events(party: Party) -> QuerySet[AuditEvent]:
    """Audit events of the party's own record, its consents and its links (also deleted ones,
    found by the party ids their snapshots carry)."""
    types = ContentType.objects.get_for_models(
        Party, Person, Enterprise, Consent, PartyLink, for_concrete_models=False
    )
    consent_ids = (
        Consent.objects.filter(party=party)
        .annotate(object_key=Cast("pk", output_field=CharField()))
        .values("object_key")
    )
    link_of_party = (
        Q(after__from_party=party.pk)
        | Q(after__to_party=party.pk)
        | Q(before__from_party=party.pk)
        | Q(before__to_party=party.pk)
    )
    condition = (
        Q(
            content_type__in=[types[Party], types[Person], types[Enterprise]],
            object_id=str(party.pk),
        )
        | Q(content_type=types[Consent], object_id__in=consent_ids)
        | (Q(content_type=types[PartyLink]) & link_of_party)
    )
    # Who merely opened the record (crm.privacy access log) is not part of its timeline.
    return (
        AuditEvent.objects.filter(condition)
        .exclude(action__in=ACCESS_ACTIONS)
        .select_related("actor")
    )


def _change_entries(party: Party) -> list[TimelineEntry]:
    titles = _change_titles()
    history_url = reverse("crm:party_history", args=[party.pk])
    events = _party_events(party).order_by("-occurred_at", "-pk")[:TIMELINE_LIMIT]
    entries = []
    for event in events:
        if event.action.endswith(".updated"):
            fields = ", ".join(row["field"] for row in event.changed_fields)
            detail = _("Changed: %(fields)s") % {"fields": fields}
        elif event.action.startswith(("consent.", "party_link.")):
            detail = event.object_repr
        else:
            detail = ""
        entries.append(
            TimelineEntry(
                when=event.occurred_at,
                kind=TimelineKind.CHANGE,
                title=titles.get(event.action, event.action),
                detail=detail,
                link=history_url,
                actor=event.actor.display_name if event.actor else "",
                key=f"event-{event.pk}",
                rank=(1, event.pk),
            )
        )
    return entries


# --- Loan events ---------------------------------------------------------------------------------


def _loan_entries(user, party: Party) -> list[TimelineEntry]:
    """Submission, approval and closing dates of the party's loans, and their transactions
    (disbursements, repayments, write-offs), from the loans the user may see."""
    if not user.has_capability(Capability.LOAN_VIEW):
        return []
    loans = (
        loans_visible_to(user)
        .filter(borrower=party)
        .prefetch_related("transactions")
        .order_by("-submitted_on", "-pk")[:TIMELINE_LIMIT]
    )
    entries = []

    def add(loan: Loan, day: datetime.date, order: int, title: str, detail: str, key: str):
        entries.append(
            TimelineEntry(
                when=_start_of_day(day),
                kind=TimelineKind.LOAN,
                title=title,
                detail=detail,
                link=loan.get_absolute_url(),
                is_date_only=True,
                key=key,
                rank=(0, loan.pk, order),
            )
        )

    for loan in loans:
        number = {"number": loan.number}
        principal = f"{money(loan.principal, loan.currency)} {loan.currency}"
        add(
            loan,
            loan.submitted_on,
            0,
            _("Loan %(number)s submitted") % number,
            f"{principal} · {loan.purpose}",
            f"loan-{loan.pk}-submitted",
        )
        if loan.approved_on:
            add(
                loan,
                loan.approved_on,
                1,
                _("Loan %(number)s approved") % number,
                principal,
                f"loan-{loan.pk}-approved",
            )
        transactions = list(loan.transactions.all())
        if loan.disbursed_on and not any(
            txn.kind == TransactionKind.DISBURSEMENT for txn in transactions
        ):
            add(
                loan,
                loan.disbursed_on,
                2,
                _("Loan %(number)s disbursed") % number,
                principal,
                f"loan-{loan.pk}-disbursed",
            )
        titles = {
            TransactionKind.DISBURSEMENT: _("Loan %(number)s disbursed"),
            TransactionKind.REPAYMENT: _("Repayment on loan %(number)s"),
            TransactionKind.WRITE_OFF: _("Loan %(number)s written off"),
            TransactionKind.RESCHEDULE: _("Loan %(number)s rescheduled"),
        }
        for txn in transactions:
            detail = f"{money(txn.amount, loan.currency)} {loan.currency}"
            if txn.receipt_number:
                detail += " · " + _("receipt %(number)s") % {"number": txn.receipt_number}
            if txn.is_reversed:
                detail += " · " + _("reversed")
            add(
                loan,
                txn.value_date,
                3 + txn.pk,
                titles.get(txn.kind, txn.get_kind_display()) % number,
                detail,
                f"loan-transaction-{txn.pk}",
            )
        if loan.closed_on:
            add(
                loan,
                loan.closed_on,
                2**62,  # after every transaction of that day
                _("Loan %(number)s closed") % number,
                loan.get_status_display(),
                f"loan-{loan.pk}-closed",
            )
    return entries


# --- Coaching sessions ---------------------------------------------------------------------------


def _coaching_entries(user, party: Party) -> list[TimelineEntry]:
    """Planned, held and missed sessions of the party's engagements the user may see, in one
    query; each links to its engagement's page."""
    if not user.has_capability(Capability.COACHING_VIEW):
        return []
    sessions = (
        sessions_visible_to(user)
        .prefetch_related(None)
        .filter(engagement__party=party, status__in=TIMELINE_SESSION_STATUSES)
        .select_related("engagement__coach__user", "engagement__product")
        .order_by("-scheduled_at", "-pk")[:TIMELINE_LIMIT]
    )
    titles = {
        SessionStatus.PLANNED: _("Coaching session planned"),
        SessionStatus.HELD: _("Coaching session held"),
        SessionStatus.NO_SHOW: _("Coaching session missed (no-show)"),
    }
    entries = []
    for session in sessions:
        engagement = session.engagement
        detail = [
            _("%(minutes)s min") % {"minutes": session.duration_minutes},
            session.get_mode_display(),
            engagement.product.name,
        ]
        entries.append(
            TimelineEntry(
                when=session.scheduled_at,
                kind=COACHING_KIND,
                title=titles.get(session.status, session.get_status_display()),
                detail=" · ".join(str(part) for part in detail if part),
                link=reverse("coaching:engagement_detail", args=[engagement.pk]),
                actor=engagement.coach.user.display_name,
                key=f"coaching-session-{session.pk}",
                rank=(3, session.pk),
            )
        )
    return entries


# --- Course progress -----------------------------------------------------------------------------

_PROGRESS_ENROLLED, _PROGRESS_LESSON, _PROGRESS_QUIZ, _PROGRESS_CERTIFICATE = range(4)


def _progress_rows(qs: QuerySet, **columns) -> QuerySet:
    """One branch of the course-progress union: the same named columns, in the same order."""
    order = ("step", "row_id", "at", "on", "course_ref", "course_name", "item", "score", "ok")
    typed = {
        "step": IntegerField(),
        "row_id": IntegerField(),
        "at": DateTimeField(),
        "on": DateField(),
        "course_ref": IntegerField(),
        "course_name": CharField(),
        "item": CharField(),
        "score": DecimalField(max_digits=7, decimal_places=4),
        "ok": BooleanField(),
    }
    annotations = {}
    for name in order:
        value = columns.get(name)
        if value is None or not hasattr(value, "resolve_expression"):
            # Typed, so that the branches' columns match in the union (NULL is text otherwise).
            value = Cast(Value(value), output_field=typed[name])
        annotations[name] = value
    return qs.order_by().annotate(**annotations).values_list(*order)


def _course_entries(user, party: Party) -> list[TimelineEntry]:
    """Enrolments, completed lessons, quiz attempts and certificates of the party, in one query
    (a union), from the learners the user may see; each links to the course's page."""
    if not user.has_capability(Capability.LEARNING_VIEW):
        return []
    visible = learners_visible_to(user).filter(pk=party.pk).values("pk")
    enrolments = _progress_rows(
        Enrolment.objects.filter(party__in=visible),
        step=_PROGRESS_ENROLLED,
        row_id=F("pk"),
        at=F("enrolled_at"),
        course_ref=F("course_id"),
        course_name=F("course__title"),
        item="",
    )
    lessons = _progress_rows(
        LessonCompletion.objects.filter(enrolment__party__in=visible),
        step=_PROGRESS_LESSON,
        row_id=F("pk"),
        at=F("completed_at"),
        course_ref=F("enrolment__course_id"),
        course_name=F("enrolment__course__title"),
        item=F("lesson__title"),
    )
    attempts = _progress_rows(
        QuizAttempt.objects.filter(enrolment__party__in=visible),
        step=_PROGRESS_QUIZ,
        row_id=F("pk"),
        at=F("attempted_at"),
        course_ref=F("enrolment__course_id"),
        course_name=F("enrolment__course__title"),
        item=F("quiz__lesson__title"),
        score=F("score_percent"),
        ok=F("passed"),
    )
    certificates = _progress_rows(
        Certificate.objects.filter(enrolment__party__in=visible),
        step=_PROGRESS_CERTIFICATE,
        row_id=F("pk"),
        at=F("enrolment__completed_at"),
        on=F("issued_on"),
        course_ref=F("enrolment__course_id"),
        course_name=F("enrolment__course__title"),
        item=F("code"),
    )
    rows = enrolments.union(lessons, attempts, certificates, all=True)
    entries = []
    for step, row_id, at, on, course_id, course_title, item, score, passed in rows:
        course = {"course": course_title}
        link = reverse("elearning:course_detail", args=[course_id])
        is_date_only = False
        if step == _PROGRESS_ENROLLED:
            title, detail, key = _("Enrolled in %(course)s") % course, "", f"enrolment-{row_id}"
        elif step == _PROGRESS_LESSON:
            title = _("Lesson completed in %(course)s") % course
            detail, key = item, f"lesson-completion-{row_id}"
        elif step == _PROGRESS_QUIZ:
            title = (
                _("Quiz passed in %(course)s") if passed else _("Quiz failed in %(course)s")
            ) % course
            detail = _("%(lesson)s · score %(score)s %%") % {
                "lesson": item,
                "score": f"{score:.2f}",
            }
            key = f"quiz-attempt-{row_id}"
        else:
            title = _("Certificate issued for %(course)s") % course
            detail = _("Verification code %(code)s") % {"code": item}
            key = f"certificate-{row_id}"
            # Issued when the course was completed; known by its date only otherwise.
            if at is None or timezone.localdate(at) != on:
                at, is_date_only = _start_of_day(on), True
        entries.append(
            TimelineEntry(
                when=at,
                kind=COURSE_KIND,
                title=title,
                detail=detail,
                link=link,
                is_date_only=is_date_only,
                key=key,
                rank=(4, step, row_id),
            )
        )
    entries.sort(key=lambda entry: (entry.when, entry.rank), reverse=True)
    return entries[:TIMELINE_LIMIT]


# --- The timeline --------------------------------------------------------------------------------


def party_timeline(
    *, user, party: Party, kinds: Iterable[str] | None = None, limit: int = TIMELINE_LIMIT
) -> list[TimelineEntry]:
    """The party's timeline, newest first, optionally only some kinds (``TimelineKind`` values,
    ``"coaching"`` and ``"course"``).

    Raises Http404 if the user may not see the party. At most eight queries whatever the history:
    the scope check, interactions, audit events (plus content types once per process), loans and
    their transactions, coaching sessions, and course progress (one union).
    """
    if not parties_visible_to(user).filter(pk=party.pk).exists():
        raise Http404("No such party")
    wanted = set(TIMELINE_KIND_VALUES) if not kinds else set(kinds) & TIMELINE_KIND_VALUES
    timeline_url = reverse("crm:party_timeline", args=[party.pk])
    entries: list[TimelineEntry] = []
    interaction_kinds = wanted & INTERACTION_KINDS
    if interaction_kinds:
        entries += _interaction_entries(party, interaction_kinds, timeline_url)
    if TimelineKind.CHANGE in wanted:
        entries += _change_entries(party)
    if TimelineKind.LOAN in wanted:
        entries += _loan_entries(user, party)
    if COACHING_KIND in wanted:
        entries += _coaching_entries(user, party)
    if COURSE_KIND in wanted:
        entries += _course_entries(user, party)
    entries.sort(key=lambda entry: (entry.when, entry.rank), reverse=True)
    return entries[:limit]


# --- Tasks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskGroups:
    """A user's open tasks by due date relative to ``today``: overdue, today, the rest of this
    calendar week (Monday to Sunday), and later."""

    today_date: datetime.date
    overdue: list[Task]
    today: list[Task]
    this_week: list[Task]
    later: list[Task]

    @property
    def total(self) -> int:
        return len(self.overdue) + len(self.today) + len(self.this_week) + len(self.later)


def end_of_week(day: datetime.date) -> datetime.date:
    """The Sunday of ``day``'s ISO week."""
    return day + datetime.timedelta(days=6 - day.weekday())


def tasks_visible_to(user) -> QuerySet[Task]:
    """Tasks the user may see and act on: their own and those they created; branch staff also
    those of the staff of their branch subtree (everyone's for head office)."""
    if not user.is_authenticated or not user.has_capability(Capability.PARTY_VIEW):
        return Task.objects.none()
    tasks = Task.objects.select_related("assigned_to", "party", "loan", "created_by")
    mine = Q(assigned_to=user) | Q(created_by=user)
    if user.sees_assigned_only:
        return tasks.filter(mine)
    branch_ids = user.branch_scope_ids()
    if branch_ids is None:
        return tasks
    return tasks.filter(mine | Q(assigned_to__branch_id__in=branch_ids))


def task_get_for_user(*, user, task_id: int) -> Task:
    """The task, or Http404 if it does not exist or is out of the user's scope."""
    task = tasks_visible_to(user).filter(pk=task_id).first()
    if task is None:
        raise Http404("No such task")
    return task


def my_open_tasks(*, user) -> QuerySet[Task]:
    """Open tasks assigned to the user, soonest first."""
    return (
        tasks_visible_to(user)
        .filter(assigned_to=user, status=TaskStatus.OPEN)
        .order_by("due_date", "pk")
    )


def tasks_grouped_for_user(*, user, today: datetime.date | None = None) -> TaskGroups:
    """The "My tasks" page: the user's open tasks grouped by due date, in one query."""
    today = today or timezone.localdate()
    week_end = end_of_week(today)
    groups: dict[str, list[Task]] = {"overdue": [], "today": [], "this_week": [], "later": []}
    for task in my_open_tasks(user=user):
        if task.due_date < today:
            groups["overdue"].append(task)
        elif task.due_date == today:
            groups["today"].append(task)
        elif task.due_date <= week_end:
            groups["this_week"].append(task)
        else:
            groups["later"].append(task)
    return TaskGroups(today_date=today, **groups)


def task_counts_for_user(*, user, today: datetime.date | None = None) -> dict[str, int]:
    """Counts for the home card, in one query."""
    today = today or timezone.localdate()
    week_end = end_of_week(today)
    return my_open_tasks(user=user).aggregate(
        overdue=Count("pk", filter=Q(due_date__lt=today)),
        today=Count("pk", filter=Q(due_date=today)),
        this_week=Count("pk", filter=Q(due_date__gt=today, due_date__lte=week_end)),
        later=Count("pk", filter=Q(due_date__gt=week_end)),
        total=Count("pk"),
    )


def tasks_due_for_reminders(*, today: datetime.date) -> dict[int, list[Task]]:
    """Open overdue and due-today tasks of active users with an e-mail address, by user id."""
    tasks = (
        Task.objects.filter(
            status=TaskStatus.OPEN,
            due_date__lte=today,
            assigned_to__is_active=True,
        )
        .exclude(assigned_to__email="")
        .select_related("assigned_to", "party")
        .order_by("assigned_to_id", "due_date", "pk")
    )
    by_user: dict[int, list[Task]] = {}
    for task in tasks:
        by_user.setdefault(task.assigned_to_id, []).append(task)
    return by_user
