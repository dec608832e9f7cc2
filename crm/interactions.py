"""Every change to interactions and tasks. Each is atomic and leaves an audit event.

An interaction with a next-action date creates its follow-up task in the same transaction, so
there is never an interaction that promised a follow-up without one, nor a task without its cause.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.services import audit_record, snapshot
from crm.choices import TASK_TRANSITIONS, InteractionKind, InteractionOutcome, TaskStatus
from crm.models import Interaction, Party, Task, TaskReminder
from crm.selectors import parties_visible_to
from crm.timeline import tasks_due_for_reminders, tasks_visible_to
from loans.models import Loan
from loans.selectors import loans_visible_to
from users.models import User
from users.roles import Capability
from users.selectors import staff_assignable_by

logger = logging.getLogger(__name__)

# An interaction may be typed in a little after a phone's clock said it happened.
_CLOCK_SKEW = datetime.timedelta(minutes=5)
_TASK_FIELDS = ["title", "due_date", "assigned_to", "party", "loan", "status", "completed_at"]


def _require_edit(actor) -> None:
    # Compliance follow-up staff log calls and visits without editing the party's record.
    if not (
        actor.has_capability(Capability.PARTY_EDIT)
        or actor.has_capability(Capability.COMPLIANCE_FOLLOW_UP)
    ):
        raise PermissionDenied(_("Your role may not record interactions or change tasks."))


def _require_party_in_scope(actor, party: Party) -> None:
    if not parties_visible_to(actor).filter(pk=party.pk).exists():
        raise PermissionDenied(_("This party is outside your scope."))


def _check_loan(actor, loan: Loan | None, party: Party | None) -> None:
    if loan is None:
        return
    if party is not None and loan.borrower_id != party.pk:
        raise ValidationError({"loan": _("This loan is not one of this party's loans.")})
    if not loans_visible_to(actor).filter(pk=loan.pk).exists():
        raise ValidationError({"loan": _("This loan is outside your scope.")})


def _check_assignee(actor, assignee: User, party: Party | None) -> None:
    """Tasks go to the actor or to follow-up staff of the actor's branch scope, who must be able
    to open the party the task is about."""
    if not assignee.is_active:
        raise ValidationError({"assigned_to": _("This person can no longer be given tasks.")})
    if assignee.pk != actor.pk and not staff_assignable_by(actor).filter(pk=assignee.pk).exists():
        raise ValidationError(
            {"assigned_to": _("Tasks can only be given to staff of your branches.")}
        )
    if party is not None and not parties_visible_to(assignee).filter(pk=party.pk).exists():
        raise ValidationError(
            {"assigned_to": _("%(name)s cannot see this party.") % {"name": assignee.display_name}}
        )


def _task_branch_id(task: Task) -> int | None:
    return task.party.branch_id if task.party_id else task.assigned_to.branch_id


def _lock_task(actor, task: Task) -> Task:
    """The task row, locked, if the actor may act on it."""
    _require_edit(actor)
    locked = tasks_visible_to(actor).select_for_update(of=("self",)).filter(pk=task.pk).first()
    if locked is None:
        raise PermissionDenied(_("This task is outside your scope."))
    return locked


def _task_transition(task: Task, status: str, *, actor, action: str) -> Task:
    """Move the task to ``status`` if the transition map allows it, and record the event."""
    if status not in TASK_TRANSITIONS[task.status]:
        raise ValidationError(_("Only an open task can be completed, reassigned or cancelled."))
    before = snapshot(task, ["status", "completed_at"])
    task.status = status
    task.completed_at = timezone.now() if status == TaskStatus.DONE else None
    task.save(update_fields=["status", "completed_at"])
    audit_record(
        actor=actor,
        action=action,
        target=task,
        branch_id=_task_branch_id(task),
        before=before,
        after=snapshot(task, ["status", "completed_at"]),
    )
    return task


def _task_create(
    *,
    actor,
    title: str,
    due_date: datetime.date,
    assigned_to: User,
    party: Party | None,
    loan: Loan | None,
    source_interaction: Interaction | None,
) -> Task:
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Say what has to be done.")})
    if due_date < timezone.localdate():
        raise ValidationError({"due_date": _("A task cannot be due in the past.")})
    _check_assignee(actor, assigned_to, party)
    task = Task(
        title=title[:200],
        due_date=due_date,
        assigned_to=assigned_to,
        party=party,
        loan=loan,
        source_interaction=source_interaction,
        created_by=actor,
    )
    task.save()
    audit_record(
        actor=actor,
        action="task.created",
        target=task,
        branch_id=_task_branch_id(task),
        after=snapshot(task),
    )
    return task


@transaction.atomic
def interaction_record(
    *,
    actor,
    party: Party,
    kind: str,
    summary: str,
    outcome: str = "",
    notes: str = "",
    occurred_at: datetime.datetime | None = None,
    loan: Loan | None = None,
    next_action_date: datetime.date | None = None,
    next_action_title: str = "",
    assignee: User | None = None,
) -> Interaction:
    """Record a call, visit, desk visit, message or note with a party.

    With a ``next_action_date`` a follow-up task is created in the same transaction, assigned to
    ``assignee`` (default: the actor), who must be follow-up staff of the actor's branches and
    able to see the party.
    """
    _require_edit(actor)
    _require_party_in_scope(actor, party)
    errors = {}
    if kind not in InteractionKind.values:
        errors["kind"] = _("Choose a call, visit, desk visit, message or note.")
    if outcome and outcome not in InteractionOutcome.values:
        errors["outcome"] = _("Unknown outcome.")
    summary = (summary or "").strip()
    if not summary:
        errors["summary"] = _("Write a short summary.")
    occurred_at = occurred_at or timezone.now()
    if timezone.is_naive(occurred_at):
        errors["occurred_at"] = _("Give the time with its time zone.")
    elif occurred_at > timezone.now() + _CLOCK_SKEW:
        errors["occurred_at"] = _("An interaction cannot be in the future.")
    if next_action_date is not None and next_action_date < timezone.localdate():
        errors["next_action_date"] = _("The next action cannot be in the past.")
    if errors:
        raise ValidationError(errors)
    _check_loan(actor, loan, party)
    if next_action_date is not None:
        _check_assignee(actor, assignee or actor, party)
    interaction = Interaction(
        party=party,
        kind=kind,
        occurred_at=occurred_at,
        summary=summary[:200],
        outcome=outcome,
        notes=notes or "",
        author=actor,
        loan=loan,
        next_action_date=next_action_date,
    )
    interaction.save()
    audit_record(
        actor=actor,
        action="interaction.recorded",
        target=interaction,
        branch_id=party.branch_id,
        after=snapshot(interaction),
    )
    if next_action_date is not None:
        title = next_action_title.strip() or _("Follow up with %(party)s: %(summary)s") % {
            "party": party.display_name,
            "summary": interaction.summary,
        }
        _task_create(
            actor=actor,
            title=title,
            due_date=next_action_date,
            assigned_to=assignee or actor,
            party=party,
            loan=loan,
            source_interaction=interaction,
        )
    return interaction


@transaction.atomic
def task_create(
    *,
    actor,
    title: str,
    due_date: datetime.date,
    assigned_to: User | None = None,
    party: Party | None = None,
    loan: Loan | None = None,
) -> Task:
    """A task for the actor (or follow-up staff of the actor's branches), about a party and a
    loan the actor may see."""
    _require_edit(actor)
    if party is not None:
        _require_party_in_scope(actor, party)
    _check_loan(actor, loan, party)
    return _task_create(
        actor=actor,
        title=title,
        due_date=due_date,
        assigned_to=assigned_to or actor,
        party=party or (loan.borrower if loan is not None else None),
        loan=loan,
        source_interaction=None,
    )


@transaction.atomic
def task_complete(*, actor, task: Task) -> Task:
    """Mark an open task done (by its assignee, its creator or a manager of the assignee)."""
    locked = _lock_task(actor, task)
    return _task_transition(locked, TaskStatus.DONE, actor=actor, action="task.completed")


@transaction.atomic
def task_cancel(*, actor, task: Task) -> Task:
    """Cancel an open task that no longer needs doing."""
    locked = _lock_task(actor, task)
    return _task_transition(locked, TaskStatus.CANCELLED, actor=actor, action="task.cancelled")


@transaction.atomic
def task_reassign(*, actor, task: Task, assigned_to: User) -> Task:
    """Give an open task to someone else: follow-up staff of the actor's branch scope who can
    see the task's party."""
    locked = _lock_task(actor, task)
    if not locked.is_open:
        raise ValidationError(_("Only an open task can be completed, reassigned or cancelled."))
    if assigned_to.pk == locked.assigned_to_id:
        return locked
    _check_assignee(actor, assigned_to, locked.party)
    before = snapshot(locked, ["assigned_to"])
    locked.assigned_to = assigned_to
    locked.save(update_fields=["assigned_to"])
    audit_record(
        actor=actor,
        action="task.reassigned",
        target=locked,
        branch_id=_task_branch_id(locked),
        before=before,
        after=snapshot(locked, ["assigned_to"]),
    )
    return locked


# --- Daily reminders (an outbox: queue one row per user and day, then deliver) -------------------


def _reminders_queue(*, today: datetime.date) -> None:
    """One ``TaskReminder`` per user with overdue or due-today tasks who has none for ``today``.
    The unique constraint makes concurrent runs queue each reminder once."""
    counts = {
        user_id: len(tasks) for user_id, tasks in tasks_due_for_reminders(today=today).items()
    }
    already = set(
        TaskReminder.objects.filter(sent_on=today, user_id__in=counts).values_list(
            "user_id", flat=True
        )
    )
    rows = [
        TaskReminder(user_id=user_id, sent_on=today, task_count=count)
        for user_id, count in counts.items()
        if user_id not in already
    ]
    TaskReminder.objects.bulk_create(rows, ignore_conflicts=True)


def _reminder_email(user: User, tasks: list[Task], today: datetime.date) -> tuple[str, str]:
    overdue = [task for task in tasks if task.due_date < today]
    due_today = [task for task in tasks if task.due_date == today]
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        subject = _("Your tasks for %(date)s: %(overdue)s overdue, %(today)s due today") % {
            "date": today.isoformat(),
            "overdue": len(overdue),
            "today": len(due_today),
        }
        body = render_to_string(
            "crm/task_reminder_email.txt",
            {"user": user, "overdue": overdue, "due_today": due_today, "today": today},
        )
    return subject, body


def _reminder_deliver(*, reminder_id: int, tasks_by_user: dict[int, list[Task]], today) -> bool:
    """Send one queued reminder and mark it delivered, in one transaction: if the mail server
    refuses, the row stays queued for the next run."""
    with transaction.atomic():
        reminder = (
            TaskReminder.objects.select_for_update(skip_locked=True)
            .select_related("user")
            .filter(pk=reminder_id, delivered_at__isnull=True)
            .first()
        )
        if reminder is None:  # delivered meanwhile by a concurrent run
            return False
        tasks = tasks_by_user.get(reminder.user_id, [])
        if tasks:  # none left if they were all done since the reminder was queued
            subject, body = _reminder_email(reminder.user, tasks, today)
            send_mail(subject, body, None, [reminder.user.email])
        reminder.delivered_at = timezone.now()
        reminder.task_count = len(tasks)
        reminder.save(update_fields=["delivered_at", "task_count"])
        audit_record(
            actor=None,
            action="task_reminder.sent" if tasks else "task_reminder.skipped",
            target=reminder,
            branch_id=reminder.user.branch_id,
            after=snapshot(reminder, ["user", "sent_on", "task_count", "delivered_at"]),
        )
        return bool(tasks)


def task_reminders_send(*, today: datetime.date | None = None) -> dict[str, int]:
    """E-mail each user their overdue and due-today tasks, at most once per day.

    Idempotent: running it again the same day sends nothing more. A reminder whose e-mail
    failed stays queued and goes out with the next run of the day. Returns how many e-mails were
    sent and how many failed.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        _reminders_queue(today=today)
    tasks_by_user = tasks_due_for_reminders(today=today)
    pending = list(
        TaskReminder.objects.filter(sent_on=today, delivered_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    result = {"sent": 0, "failed": 0}
    for reminder_id in pending:
        try:
            if _reminder_deliver(reminder_id=reminder_id, tasks_by_user=tasks_by_user, today=today):
                result["sent"] += 1
        except Exception:  # one refused address must not hold back everybody else's reminder
            logger.exception("Task reminder %s could not be sent", reminder_id)
            result["failed"] += 1
    return result
