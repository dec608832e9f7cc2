"""Every change to the ledger. One posting path: whatever the source, entries go through
``_post`` which validates, numbers and audits them; PostgreSQL re-checks balance at commit."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounting.choices import (
    AccountRole,
    AccountType,
    EntrySource,
    EntryStatus,
    PostingEvent,
)
from accounting.models import (
    Account,
    AccountingPeriod,
    JournalEntry,
    JournalLine,
    PostingRule,
    PostingRuleSet,
)
from audit.services import audit_record, snapshot
from mfi.money import ZERO, round_money
from users.models import Branch
from users.roles import Capability


@dataclass(frozen=True)
class LineSpec:
    """One line to post: an account and a positive debit *or* credit, in the entry's currency."""

    account: Account
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    description: str = ""


def _require(actor, capability: Capability) -> None:
    if actor is None or not actor.has_capability(capability):
        raise PermissionDenied(_("Your role may not do this."))


def _require_branch(actor, branch: Branch) -> None:
    scope = actor.branch_scope_ids() if actor is not None else None
    if scope is not None and branch.pk not in scope:
        raise PermissionDenied(_("This branch is outside your scope."))


def account_for_role(role: str, branch: Branch | None = None) -> Account:
    """The account playing ``role`` for ``branch``: the branch's own, else the institution's."""
    candidates = Account.objects.filter(role=role, is_active=True)
    if branch is not None:
        own = candidates.filter(branch=branch).first()
        if own is not None:
            return own
    general = candidates.filter(branch__isnull=True).first()
    if general is None:
        raise ValidationError(_("No active account has the role %(role)s.") % {"role": role})
    return general


def accounts_for_roles(roles: Iterable[str], branch: Branch | None = None) -> dict[str, Account]:
    """``account_for_role`` for several roles at once (one query): role -> account."""
    roles = set(roles)
    found: dict[str, Account] = {}
    candidates = Account.objects.filter(role__in=roles, is_active=True)
    candidates = candidates.filter(branch__isnull=True) | (
        candidates.filter(branch=branch) if branch is not None else candidates.none()
    )
    for account in candidates.order_by("pk"):
        if account.branch_id is not None or account.role not in found:
            found[account.role] = account  # the branch's own wins over the institution's
    missing = roles - set(found)
    if missing:
        raise ValidationError(
            _("No active account has the role %(role)s.") % {"role": sorted(missing)[0]}
        )
    return found


def _lock_period(branch_id: int, entry_date: datetime.date, *, exclusive: bool) -> None:
    """Postings share a branch-month lock; closing the month takes it exclusively, so nothing
    can slip into a month while it is being closed."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {function}(%s, %s)",  # noqa: S608 - function name is ours
            [branch_id, entry_date.year * 100 + entry_date.month],
        )


def _is_closed(branch_id: int, entry_date: datetime.date) -> bool:
    return AccountingPeriod.objects.filter(
        branch_id=branch_id, year=entry_date.year, month=entry_date.month
    ).exists()


def _check_date(branch: Branch, entry_date: datetime.date) -> None:
    if entry_date > timezone.localdate():
        raise ValidationError({"entry_date": _("An entry cannot be dated in the future.")})
    if _is_closed(branch.pk, entry_date):
        raise ValidationError(
            {
                "entry_date": _("The period %(period)s of %(branch)s is closed.")
                % {"period": entry_date.strftime("%Y-%m"), "branch": branch}
            }
        )


def _validated_lines(
    lines: Iterable[LineSpec], currency: str, *, manual: bool, branch: Branch
) -> list[LineSpec]:
    """Round every amount to the currency and check the lines form a balanced entry."""
    result = []
    for line in lines:
        debit = round_money(line.debit or ZERO, currency)
        credit = round_money(line.credit or ZERO, currency)
        if debit < 0 or credit < 0 or (debit > 0) == (credit > 0):
            raise ValidationError(_("Each line needs a positive debit or a positive credit."))
        account = line.account
        if account.is_header or not account.is_active:
            raise ValidationError(_("%(account)s takes no postings.") % {"account": account})
        if account.currency and account.currency != currency:
            raise ValidationError(
                _("%(account)s only takes %(currency)s.")
                % {"account": account, "currency": account.currency}
            )
        if account.branch_id is not None and account.branch_id != branch.pk:
            raise ValidationError(
                _("%(account)s belongs to another branch.") % {"account": account}
            )
        if manual and not account.allows_manual_entries:
            raise ValidationError(_("%(account)s takes no manual entries.") % {"account": account})
        result.append(LineSpec(account, debit, credit, line.description))
    if len(result) < 2:
        raise ValidationError(_("An entry needs at least two lines."))
    debits = sum((line.debit for line in result), ZERO)
    credits = sum((line.credit for line in result), ZERO)
    if debits != credits:
        raise ValidationError(
            _("Debits (%(debits)s) and credits (%(credits)s) differ.")
            % {"debits": debits, "credits": credits}
        )
    return result


def _create(
    *,
    actor,
    entry_date,
    branch,
    currency,
    description,
    source,
    source_reference,
    lines: list[LineSpec],
    reversal_of=None,
) -> JournalEntry:
    entry = JournalEntry.objects.create(
        entry_date=entry_date,
        branch=branch,
        currency=currency,
        description=description[:250],
        source=source,
        source_reference=source_reference,
        status=EntryStatus.DRAFT,
        created_by=actor if getattr(actor, "pk", None) else None,
        reversal_of=reversal_of,
    )
    JournalLine.objects.bulk_create(
        JournalLine(
            entry=entry,
            account=line.account,
            debit=line.debit,
            credit=line.credit,
            description=line.description[:250],
        )
        for line in lines
    )
    return entry


def _post(
    entry: JournalEntry, *, actor, approved_by=None, lines: list[LineSpec] | None = None
) -> JournalEntry:
    """draft → posted: number it, stamp it, audit it. The only way an entry becomes posted.
    ``lines`` are the entry's lines when the caller just wrote them (saves reading them back)."""
    _lock_period(entry.branch_id, entry.entry_date, exclusive=False)
    _check_date(entry.branch, entry.entry_date)
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('accounting_journal_entry_number')")
        entry.number = cursor.fetchone()[0]
    entry.status = EntryStatus.POSTED
    entry.posted_at = timezone.now()
    entry.approved_by = approved_by
    entry.save(update_fields=["number", "status", "posted_at", "approved_by"])
    audit_record(
        actor=actor,
        action="journal_entry.posted",
        target=entry,
        after={
            **snapshot(entry, ["number", "entry_date", "source", "source_reference", "currency"]),
            "lines": [
                [line.account.code, str(line.debit), str(line.credit)]
                for line in (lines if lines is not None else entry.lines.select_related("account"))
            ],
        },
    )
    return entry


@transaction.atomic
def journal_entry_post(
    *,
    actor,
    entry_date: datetime.date,
    branch: Branch,
    currency: str,
    description: str,
    source: str,
    source_reference: str = "",
    lines: Iterable[LineSpec],
) -> JournalEntry:
    """Post a system entry (loan transaction, coaching invoice, P2P funding, end of day).

    Manual entries go through ``manual_entry_draft`` and a second person's approval instead.
    """
    if source in {EntrySource.MANUAL, EntrySource.REVERSAL, EntrySource.YEAR_END}:
        raise ValidationError(
            _("Use the dedicated service for %(source)s entries.") % {"source": source}
        )
    checked = _validated_lines(lines, currency, manual=False, branch=branch)
    # the date (future, closed month) is checked by _post, under the period lock
    entry = _create(
        actor=actor,
        entry_date=entry_date,
        branch=branch,
        currency=currency,
        description=description,
        source=source,
        source_reference=source_reference,
        lines=checked,
    )
    return _post(entry, actor=actor, lines=checked)


def lines_for_events(
    *, rule_set: PostingRuleSet, branch: Branch, amounts: Mapping[str, Decimal]
) -> list[LineSpec]:
    """Debit and credit lines for business events under a rule set, one pair per event,
    merged per account and side. Events without a rule (an accrual under cash accounting)
    post nothing."""
    rules = {rule.event: rule for rule in PostingRule.objects.filter(rule_set=rule_set)}
    totals: dict[tuple[str, str], Decimal] = {}
    for event, amount in amounts.items():
        if event not in PostingEvent.values:
            raise ValidationError(_("Unknown posting event %(event)s.") % {"event": event})
        rule = rules.get(event)
        if rule is None or not amount:
            continue
        totals[(rule.debit_role, "debit")] = totals.get((rule.debit_role, "debit"), ZERO) + amount
        totals[(rule.credit_role, "credit")] = (
            totals.get((rule.credit_role, "credit"), ZERO) + amount
        )
    accounts = accounts_for_roles({role for role, _side in totals}, branch)
    lines = []
    for (role, side), amount in totals.items():
        account = accounts[role]
        lines.append(
            LineSpec(
                account,
                debit=amount if side == "debit" else ZERO,
                credit=amount if side == "credit" else ZERO,
            )
        )
    return lines


def event_post(
    *,
    actor,
    rule_set: PostingRuleSet,
    entry_date: datetime.date,
    branch: Branch,
    currency: str,
    amounts: Mapping[str, Decimal],
    description: str,
    source: str,
    source_reference: str = "",
) -> JournalEntry | None:
    """Post business events (e.g. a repayment's principal, interest, fee and penalty parts)
    as one entry through the rule set. Returns None when no event has a rule. It only reads
    before ``journal_entry_post``, which is atomic itself (no savepoint of its own needed)."""
    lines = lines_for_events(rule_set=rule_set, branch=branch, amounts=amounts)
    if not lines:
        return None
    return journal_entry_post(
        actor=actor,
        entry_date=entry_date,
        branch=branch,
        currency=currency,
        description=description,
        source=source,
        source_reference=source_reference,
        lines=lines,
    )


@transaction.atomic
def manual_entry_draft(
    *,
    actor,
    entry_date: datetime.date,
    branch: Branch,
    currency: str,
    description: str,
    lines: Iterable[LineSpec],
) -> JournalEntry:
    """An accountant drafts a manual entry; another must approve it before it counts."""
    _require(actor, Capability.LEDGER_DRAFT)
    _require_branch(actor, branch)
    checked = _validated_lines(lines, currency, manual=True, branch=branch)
    _check_date(branch, entry_date)
    entry = _create(
        actor=actor,
        entry_date=entry_date,
        branch=branch,
        currency=currency,
        description=description,
        source=EntrySource.MANUAL,
        source_reference="",
        lines=checked,
    )
    audit_record(
        actor=actor,
        action="journal_entry.drafted",
        target=entry,
        after=snapshot(entry, ["entry_date", "description", "currency"]),
    )
    return entry


def _lock_draft(entry: JournalEntry) -> JournalEntry:
    locked = (
        JournalEntry.objects.select_for_update(of=("self",))
        .select_related("branch")
        .get(pk=entry.pk)
    )
    if locked.status != EntryStatus.DRAFT:
        raise ValidationError(
            _("This entry is %(status)s; only drafts can be approved or rejected.")
            % {"status": locked.get_status_display()}
        )
    return locked


@transaction.atomic
def manual_entry_approve(*, actor, entry: JournalEntry) -> JournalEntry:
    """The checker approves: the entry is posted. The maker can never check their own entry."""
    _require(actor, Capability.LEDGER_APPROVE)
    locked = _lock_draft(entry)
    _require_branch(actor, locked.branch)
    if locked.created_by_id == actor.pk:
        raise PermissionDenied(_("You drafted this entry; another person must approve it."))
    return _post(locked, actor=actor, approved_by=actor)


@transaction.atomic
def manual_entry_reject(*, actor, entry: JournalEntry, reason: str) -> JournalEntry:
    _require(actor, Capability.LEDGER_APPROVE)
    locked = _lock_draft(entry)
    _require_branch(actor, locked.branch)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the entry is rejected.")})
    locked.status = EntryStatus.REJECTED
    locked.approved_by = actor if locked.created_by_id != actor.pk else None
    locked.save(update_fields=["status", "approved_by"])
    audit_record(
        actor=actor,
        action="journal_entry.rejected",
        target=locked,
        before={"status": EntryStatus.DRAFT},
        after={"status": EntryStatus.REJECTED, "reason": reason[:250]},
    )
    return locked


@transaction.atomic
def journal_entry_reverse(
    *, actor, entry: JournalEntry, entry_date: datetime.date | None = None, reason: str
) -> JournalEntry:
    """Correct a posted entry by posting its mirror image, linked to it. The original stays."""
    _require(actor, Capability.LEDGER_APPROVE)
    return journal_entry_reverse_for_source(
        actor=actor, entry=entry, entry_date=entry_date, reason=reason
    )


@transaction.atomic
def journal_entry_reverse_for_source(
    *, actor, entry: JournalEntry, entry_date: datetime.date | None = None, reason: str
) -> JournalEntry:
    """Reverse an entry on behalf of the app that posted it (a loan transaction reversed, say).

    The calling service has checked the actor's right to reverse its own transaction.
    """
    original = (
        JournalEntry.objects.select_for_update(of=("self",))
        .select_related("branch")
        .get(pk=entry.pk)
    )
    _require_branch(actor, original.branch)
    if original.status != EntryStatus.POSTED:
        raise ValidationError(_("Only a posted entry can be reversed."))
    if JournalEntry.objects.filter(reversal_of=original).exists():
        raise ValidationError(_("This entry has already been reversed."))
    if original.source == EntrySource.REVERSAL:
        raise ValidationError(_("A reversal cannot itself be reversed; post a new entry."))
    if original.source == EntrySource.YEAR_END:
        raise ValidationError(_("A year-end closing entry cannot be reversed."))
    reversal_date = entry_date or timezone.localdate()
    if reversal_date < original.entry_date:
        raise ValidationError(
            {"entry_date": _("A reversal cannot be dated before the entry it reverses.")}
        )
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the entry is reversed.")})
    mirrored = _validated_lines(
        [
            LineSpec(
                line.account, debit=line.credit, credit=line.debit, description=line.description
            )
            for line in original.lines.select_related("account")
        ],
        original.currency,
        manual=False,
        branch=original.branch,
    )
    reversal = _create(
        actor=actor,
        entry_date=reversal_date,
        branch=original.branch,
        currency=original.currency,
        description=_("Reversal of #%(number)s: %(reason)s")
        % {"number": original.number, "reason": reason},
        source=EntrySource.REVERSAL,
        source_reference=str(original.number),
        lines=mirrored,
        reversal_of=original,
    )
    return _post(reversal, actor=actor)


def _month_range(year: int, month: int) -> tuple[datetime.date, datetime.date]:
    if not 1 <= month <= 12 or not 1900 <= year <= 9999:
        raise ValidationError(
            _("%(year)s-%(month)s is not a month.") % {"year": year, "month": month}
        )
    first = datetime.date(year, month, 1)
    following = datetime.date(year + month // 12, month % 12 + 1, 1)
    return first, following - datetime.timedelta(days=1)


@transaction.atomic
def period_close(*, actor, branch: Branch, year: int, month: int) -> AccountingPeriod:
    """Close a month of a branch: nothing more can be posted into it."""
    _require(actor, Capability.LEDGER_CLOSE)
    _require_branch(actor, branch)
    first, last = _month_range(year, month)
    if last >= timezone.localdate():
        raise ValidationError(_("Only a month that has ended can be closed."))
    _lock_period(branch.pk, first, exclusive=True)
    if _is_closed(branch.pk, first):
        raise ValidationError(_("This period is already closed."))
    drafts = JournalEntry.objects.filter(
        branch=branch, status=EntryStatus.DRAFT, entry_date__range=(first, last)
    ).count()
    if drafts:
        raise ValidationError(
            _("%(count)s draft entries of this month await approval or rejection.")
            % {"count": drafts}
        )
    period = AccountingPeriod.objects.create(branch=branch, year=year, month=month, closed_by=actor)
    audit_record(
        actor=actor,
        action="period.closed",
        target=period,
        branch_id=branch.pk,
        after={"year": year, "month": month},
    )
    return period


@transaction.atomic
def period_reopen(*, actor, branch: Branch, year: int, month: int) -> None:
    """Only an administrator reopens a closed month; the audit trail says who and when."""
    _require(actor, Capability.LEDGER_REOPEN)
    first, _last = _month_range(year, month)
    _lock_period(branch.pk, first, exclusive=True)
    period = AccountingPeriod.objects.filter(branch=branch, year=year, month=month).first()
    if period is None:
        raise ValidationError(_("This period is not closed."))
    audit_record(
        actor=actor,
        action="period.reopened",
        target=period,
        branch_id=branch.pk,
        before={"year": year, "month": month, "closed_by": period.closed_by_id},
    )
    period.delete()


@transaction.atomic
def year_end_close(*, actor, branch: Branch, year: int) -> JournalEntry | None:
    """Move the year's income and expense of a branch into retained earnings (an entry dated
    31 December), then close every month of that year still open."""
    _require(actor, Capability.LEDGER_CLOSE)
    _require_branch(actor, branch)
    last_day = datetime.date(year, 12, 31)
    if last_day >= timezone.localdate():
        raise ValidationError(_("A year can be closed once it has ended."))
    if JournalEntry.objects.filter(
        branch=branch,
        source=EntrySource.YEAR_END,
        source_reference__startswith=f"{branch.code}-{year}-",
    ).exists():
        raise ValidationError(_("This year is already closed."))
    if _is_closed(branch.pk, last_day):
        raise ValidationError(
            _(
                "December %(year)s is closed: the year-end closing entry is dated 31 December, "
                "so close the year before closing December, or have an administrator reopen "
                "December."
            )
            % {"year": year}
        )
    from accounting.selectors import balances_by_account

    balances = balances_by_account(
        date_from=datetime.date(year, 1, 1),
        date_to=last_day,
        branch_ids=[branch.pk],
        types=[AccountType.INCOME, AccountType.EXPENSE],
    )
    entry = None
    by_currency: dict[str, list[LineSpec]] = {}
    for row in balances:
        net = row.debit - row.credit  # expense: positive; income: negative
        if not net:
            continue
        by_currency.setdefault(row.currency, []).append(
            LineSpec(row.account, debit=-net if net < 0 else ZERO, credit=net if net > 0 else ZERO)
        )
    for currency, lines in by_currency.items():
        result = sum((line.debit - line.credit for line in lines), ZERO)
        retained = account_for_role(AccountRole.RETAINED_EARNINGS, branch)
        lines.append(
            LineSpec(
                retained,
                debit=-result if result < 0 else ZERO,
                credit=result if result > 0 else ZERO,
            )
        )
        if result == 0:
            lines.pop()
        _check_date(branch, last_day)
        entry = _create(
            actor=actor,
            entry_date=last_day,
            branch=branch,
            currency=currency,
            description=_("Year-end closing %(year)s") % {"year": year},
            source=EntrySource.YEAR_END,
            source_reference=f"{branch.code}-{year}-{currency}",
            lines=_validated_lines(lines, currency, manual=False, branch=branch),
        )
        _post(entry, actor=actor)
    for month in range(1, 13):
        if not _is_closed(branch.pk, datetime.date(year, month, 1)):
            period_close(actor=actor, branch=branch, year=year, month=month)
    return entry


@transaction.atomic
def posting_rule_set_ensure(
    *, name: str, accounting_rule: str, rules: Mapping[str, tuple[str, str]]
) -> PostingRuleSet:
    """Create or complete a rule set (used at setup; existing rules are kept)."""
    rule_set, _created = PostingRuleSet.objects.get_or_create(
        name=name, defaults={"accounting_rule": accounting_rule}
    )
    for event, (debit_role, credit_role) in rules.items():
        PostingRule.objects.get_or_create(
            rule_set=rule_set,
            event=event,
            defaults={"debit_role": debit_role, "credit_role": credit_role},
        )
    return rule_set
