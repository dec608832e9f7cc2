"""Turn the planned loans into rows: parties, loans, installments, transactions, allocations,
the journal entries and lines the services would have posted, audit events, coaching
engagements and sessions, the end-of-day history and month-end portfolio snapshots.

Every journal entry follows the product's posting rules exactly as ``accounting.services``
applies them (``lines_for_events``: one debit and one credit per event, merged per account and
side, the cash account of the loan's branch). Entries are numbered in date order, as posting
would have numbered them.
"""

from __future__ import annotations

import datetime
import heapq
import json
from collections import defaultdict
from contextlib import contextmanager, suppress
from decimal import Decimal
from random import Random

from django.contrib.contenttypes.models import ContentType
from django.db import connection

from accounting.choices import AccountRole, EntrySource, PostingEvent
from accounting.models import PostingRule
from coaching.models import Coach, CoachingProduct
from crm.choices import Gender, Island, Sector
from loans.choices import PORTFOLIO_STATUSES, LoanStatus, TransactionKind
from loans.models import Loan
from mfi.demo.parties import FEMALE_NAMES, LAST_NAMES, MALE_NAMES, TRADES
from mfi.scale.bulk import Copy, Writer, reserve_ids, set_sequence
from mfi.scale.plan import DAY, ZERO, LoanPlan, Planner, round_money
from mfi.scale.setup import Institution

ENTERPRISE_SHARE = 0.12
COACHED_SHARE = 0.02  # of the borrowers have a coaching engagement
# Tables whose ids the load hands out itself (reserved before the background writer starts).
ID_TABLES = (
    "crm_party",
    "loans_loan",
    "loans_installment",
    "loans_loantransaction",
    "loans_repaymentallocation",
    "loans_endofdayrun",
    "loans_portfoliosnapshot",
    "accounting_journalentry",
    "accounting_journalline",
    "accounting_accountingperiod",
    "audit_auditevent",
    "coaching_engagement",
    "coaching_session",
)
NULL = r"\N"


def stamp(day: datetime.date, time: str = "09:00:00") -> str:
    """A timestamp on ``day`` (UTC), for rows that record when something happened."""
    return f"{day} {time}+00"


def _id(value) -> str:
    return str(value) if value else NULL


class _Days(dict):
    """ISO text of dates, made once per day: formatting dates is a hot spot of the load."""

    def __missing__(self, day: datetime.date) -> str:
        text = self[day] = day.isoformat()
        return text


class Builder:
    """Writes the whole scale dataset; ``run()`` inside one transaction."""

    def __init__(
        self,
        *,
        institution: Institution,
        as_of: datetime.date,
        first_day: datetime.date,
        loans: int,
        seed: int,
        audit: bool = True,
    ):
        self.inst = institution
        self.as_of = as_of
        self.first_day = first_day
        self.loan_count = loans
        self.with_audit = audit
        self.rng = Random(seed)  # noqa: S311 - reproducible test data, not secrets
        self.planner = Planner(
            rng=self.rng, products=institution.products, as_of=as_of, first_day=first_day
        )
        self.accruals: dict[tuple, list[Decimal]] = {}
        self.rules = self._posting_rules()
        self.entries: list[tuple] = []  # (day, id, the row after its number), numbered at the end
        self.templates: dict[tuple, list] = {}  # journal lines per rule set, branch and events
        self.copies: dict[str, Copy] = {}
        self.next_ids: dict[str, int] = {}
        self.users = institution.users
        self.loan_type = ContentType.objects.get_for_model(Loan).pk
        self.loan_total = 0
        # (party id, branch id, officer id, is an enterprise, first loan asked for on)
        self.borrowers: list[tuple] = []
        self.paid_out: dict[tuple[int, str], Decimal] = {}  # (branch, currency) -> disbursed
        self.slices: dict[tuple, list] = {}  # month-end snapshot rows being summed
        self.coached: list[tuple] = []  # (party id, disbursed on, officer id)
        self.coaches: list = []
        self.coaching_products: list = []
        self.writer: Writer | None = None
        self.days = _Days()
        self.line_copy = self.copy(
            "accounting_journalline", "id, entry_id, account_id, debit, credit, description"
        )
        self.installment_copy = self.copy(
            "loans_installment",
            "id, loan_id, number, due_date, principal_due, interest_due, fee_due, penalty_due, "
            "principal_paid, interest_paid, fee_paid, penalty_paid, interest_accrued, "
            "fee_accrued, penalty_charged_on",
        )
        self.transaction_copy = self.copy(
            "loans_loantransaction",
            "id, loan_id, kind, value_date, amount, principal_portion, interest_portion, "
            "fee_portion, penalty_portion, overpayment_portion, channel, receipt_number, "
            "journal_entry_id, is_reversed, reversal_entry_id, created_by_id, created_at",
        )
        self.allocation_copy = self.copy(
            "loans_repaymentallocation",
            "id, transaction_id, installment_id, principal, interest, fee, penalty, "
            "interest_accrued_now, fee_accrued_now",
        )
        self.audit_copy = self.copy(
            "audit_auditevent",
            "id, occurred_at, actor_id, action, content_type_id, object_id, object_repr, "
            "branch_id, before, after, request_id",
        )

    # --- plumbing ----------------------------------------------------------------------------

    def copy(self, table: str, columns: str) -> Copy:
        if table not in self.copies:
            names = [name.strip() for name in columns.split(",")]
            self.copies[table] = Copy(table, names, self.writer)
        return self.copies[table]

    @contextmanager
    def writing(self):
        """Rows go to PostgreSQL from a background thread inside this block (``start_writer``);
        on the way out (even after an error) the thread is waited for, so nothing else ever
        talks to the connection while a COPY is running."""
        self.start_writer()
        try:
            yield self
        finally:
            if self.writer is not None:
                writer, self.writer = self.writer, None
                with suppress(Exception):
                    writer.close()

    def start_writer(self) -> None:
        """From now on rows go to PostgreSQL from a background thread while the next are made.
        That thread owns the connection until ``flush()``: every id range is reserved and every
        row read from the database before it starts."""
        for table in ID_TABLES:
            if table not in self.next_ids:
                self.next_ids[table] = reserve_ids(table, 1)
        self.coaches = list(Coach.objects.order_by("pk"))
        self.coaching_products = list(CoachingProduct.objects.order_by("pk"))
        self.writer = Writer()
        for copy in self.copies.values():
            copy.writer = self.writer

    def take_ids(self, table: str, count: int = 1) -> int:
        """The first of ``count`` new ids of ``table`` (the sequence is moved past them at the
        end, ``finish_sequences``)."""
        if table not in self.next_ids:
            if self.writer is not None:
                raise RuntimeError(f"{table} is missing from ID_TABLES")
            self.next_ids[table] = reserve_ids(table, 1)
        first = self.next_ids[table]
        self.next_ids[table] = first + count
        return first

    def finish_sequences(self) -> None:
        """Every table's id sequence continues after the ids handed out here."""
        with connection.cursor() as cursor:
            for table, next_id in self.next_ids.items():
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, next_id - 1]
                )

    def _posting_rules(self) -> dict[int, dict[str, tuple[str, str]]]:
        rules: dict[int, dict[str, tuple[str, str]]] = defaultdict(dict)
        for rule in PostingRule.objects.all():
            rules[rule.rule_set_id][rule.event] = (rule.debit_role, rule.credit_role)
        return rules

    def _account(self, role: str, branch_id: int) -> int:
        if role == AccountRole.CASH:
            return self.inst.cash_accounts[branch_id]
        return self.inst.accounts[role]

    # --- the journal ---------------------------------------------------------------------------

    def post(self, *, rule_set_id: int, amounts, **entry) -> int | None:
        """An entry as ``ledger.event_post`` would post it for ``amounts`` ((event, amount)
        pairs in the service's order); its id, or None if no event has a rule."""
        present = {event: amount for event, amount in amounts if amount}
        key = (rule_set_id, entry["branch_id"], tuple(present))
        template = self.templates.get(key)
        if template is None:
            template = self.templates[key] = self._lines_template(
                rule_set_id, entry["branch_id"], tuple(present)
            )
        if not template:
            return None
        lines = [
            (account_id, sum([present[event] for event in events], ZERO), is_debit)
            for account_id, is_debit, events in template
        ]
        return self.entry(lines=lines, **entry)

    def _lines_template(self, rule_set_id: int, branch_id: int, events: tuple[str, ...]) -> list:
        """``lines_for_events``' merge, worked out once per rule set, branch and set of events:
        (account id, is a debit, the events whose amounts add up on that line), in its order."""
        rules = self.rules[rule_set_id]
        merged: dict[tuple[str, bool], list[str]] = {}
        for event in events:
            rule = rules.get(event)
            if rule is None:
                continue
            for key in ((rule[0], True), (rule[1], False)):
                merged.setdefault(key, []).append(event)
        return [
            (self._account(role, branch_id), is_debit, tuple(contributing))
            for (role, is_debit), contributing in merged.items()
        ]

    def entry(
        self,
        *,
        day: datetime.date,
        branch_id: int,
        currency: str,
        lines,
        description: str,
        source: str,
        reference: str,
        actor_id: int | None,
        approver_id: int | None = None,
    ) -> int:
        """One posted entry; ``lines`` are (account id, amount, is a debit)."""
        entry_id = self.take_ids("accounting_journalentry")
        line_id = self.take_ids("accounting_journalline", len(lines))
        add = self.line_copy.add_line
        for account_id, amount, is_debit in lines:
            if is_debit:
                add(f"{line_id}\t{entry_id}\t{account_id}\t{str(amount)}\t0\t")
            else:
                add(f"{line_id}\t{entry_id}\t{account_id}\t0\t{str(amount)}\t")
            line_id += 1
        self.entries.append(
            (
                day,
                entry_id,
                f"{branch_id}\t{currency}\t{description}\t{source}\t{reference}\t"
                f"{_id(actor_id)}\t{_id(approver_id)}",
            )
        )
        return entry_id

    def write_entries(self) -> int:
        """Number the entries in date order (as posting them day by day would) and write them."""
        copy = self.copy(
            "accounting_journalentry",
            "id, number, entry_date, branch_id, currency, description, source, source_reference, "
            "created_by_id, approved_by_id, status, created_at, posted_at, reversal_of_id",
        )
        self.entries.sort(key=lambda item: (item[0], item[1]))
        days = self.days
        count = len(self.entries)
        for number, (day, entry_id, rest) in enumerate(self.entries, start=1):
            text = days[day]
            copy.add_line(
                f"{entry_id}\t{number}\t{text}\t{rest}\tposted\t{text} 18:00:00+00\t"
                f"{text} 18:00:00+00\t{NULL}"
            )
        self.entries = []
        return count

    # --- planning ------------------------------------------------------------------------------

    # --- rows ----------------------------------------------------------------------------------

    def write_parties(self) -> None:
        party = self.copy(
            "crm_party",
            "id, kind, display_name, relationship, nif, social_security_number, phone, email, "
            "island, municipality, address, created_at, updated_at, assigned_to_id, branch_id, "
            "created_by_id",
        )
        person = self.copy(
            "crm_person", "party_ptr_id, first_name, last_name, gender, birth_date, civil_id"
        )
        enterprise = self.copy(
            "crm_enterprise",
            "party_ptr_id, legal_name, trade_name, sector, is_formal, employees",
        )
        branch_islands = {branch.pk: branch.island for branch in self.inst.branches}
        branch_names = {branch.pk: branch.name for branch in self.inst.branches}
        rng = self.rng
        sectors = [sector for sector in Sector.values if sector in TRADES]
        admin = self.users["admin"].pk
        for index, (party_id, branch_id, officer_id, is_enterprise, first_loan) in enumerate(
            self.borrowers
        ):
            created = stamp(first_loan - datetime.timedelta(days=rng.randint(1, 60)))
            island = branch_islands[branch_id] or Island.SANTIAGO
            phone = f"+2389{index % 10}{index:06d}"[:11]
            if is_enterprise:
                sector = rng.choice(sectors)
                name = f"{rng.choice(TRADES[sector])} {rng.choice(LAST_NAMES)} {index}"
                kind = "enterprise"
                nif = f"2{index:08d}"
                enterprise.add(party_id, name, name, sector, rng.random() < 0.4, rng.randint(1, 9))
            else:
                female = rng.random() < 0.62
                first = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
                last = f"{rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}"
                name = f"{first} {last}"
                kind = "person"
                nif = f"1{index:08d}"
                birth = datetime.date(1955, 1, 1) + datetime.timedelta(days=rng.randint(0, 17000))
                person.add(
                    party_id,
                    first,
                    last,
                    Gender.FEMALE if female else Gender.MALE,
                    birth,
                    f"CV{index:09d}",
                )
            party.add(
                party_id,
                kind,
                name,
                "client",
                nif,
                f"{index + 100000:09d}",
                phone,
                "",
                island,
                branch_names[branch_id],
                f"{branch_names[branch_id]}, zona {index % 40 + 1}",
                created,
                created,
                officer_id,
                branch_id,
                admin,
            )

    # --- loans, one at a time ------------------------------------------------------------------

    def write_loans(self) -> None:
        """Plan every loan, then take them one by one in submission order: give each a branch,
        officer and borrower (a returning client now and then), play its history and write it
        with its schedule, transactions, allocations, journal entries and audit trail. Rows go
        to PostgreSQL while the next loans are played (see ``start_writer``)."""
        plans = self.planner.plan(self.loan_count)
        self.loan_total = len(plans)
        loan_copy = self.copy(
            "loans_loan",
            "id, number, borrower_id, branch_id, officer_id, product_version_id, status, currency, "
            "principal, annual_interest_rate, number_of_repayments, purpose, "
            "expected_disbursement_date, first_repayment_date, previous_loan_id, submitted_on, "
            "submitted_by_id, approved_on, approved_by_id, disbursed_on, closed_on, "
            "principal_outstanding, interest_outstanding, fees_outstanding, penalties_outstanding, "
            "overpaid_amount, days_past_due, arrears_amount, delinquency_bucket, created_at",
        )
        branches = self.inst.branches
        # closed loans whose borrower comes back, per branch, soonest closed first
        pool: dict[int, list[tuple]] = defaultdict(list)
        month_ends = self._month_ends()
        days = self.days
        undecided = (LoanStatus.SUBMITTED, LoanStatus.REJECTED, LoanStatus.WITHDRAWN)
        rng = self.rng
        first_loan = self.take_ids("loans_loan", len(plans))
        for number, plan in enumerate(plans, start=1):
            self._place(plan, pool, branches)
            plan.loan_id = first_loan + number - 1
            plan.number = f"L{number:07d}"
            if plan.is_disbursed:
                self.planner.simulate(plan, self.accruals)
            version = plan.product.version
            approved = None if plan.status in undecided else plan.approved_on
            previous = plan.previous.loan_id if plan.previous else None
            loan_copy.add_line(
                f"{plan.loan_id}\t{plan.number}\t{self.borrowers[plan.borrower_index][0]}\t"
                f"{plan.branch_id}\t{plan.officer_id}\t{version.pk}\t{plan.status}\t"
                f"{version.currency}\t{str(plan.principal)}\t{str(plan.rate)}\t"
                f"{plan.repayments}\t{plan.purpose}\t{days[plan.expected_disbursement]}\t{NULL}\t"
                f"{_id(previous)}\t{days[plan.submitted_on]}\t{plan.officer_id}\t"
                f"{days[approved] if approved else NULL}\t"
                f"{plan.approver_id if approved else NULL}\t"
                f"{days[plan.disbursed_on] if plan.disbursed_on else NULL}\t"
                f"{days[plan.closed_on] if plan.closed_on else NULL}\t0\t0\t0\t0\t"
                f"{str(plan.overpaid)}\t0\t0\t\t{days[plan.submitted_on]} 09:00:00+00"
            )
            if plan.is_disbursed:
                self._loan_history(plan)
                self._snapshot_slices(plan, month_ends)
                if plan.renewal_of is None:
                    key = (plan.branch_id, version.currency)
                    self.paid_out[key] = self.paid_out.get(key, ZERO) + plan.principal
                else:
                    plan.renewal_of.installments = plan.renewal_of.payments = []
                if rng.random() < COACHED_SHARE:
                    party_id = self.borrowers[plan.borrower_index][0]
                    self.coached.append((party_id, plan.disbursed_on, plan.officer_id))
            if self.with_audit:
                self._lifecycle_audit(plan)
            if plan.status == LoanStatus.CLOSED and rng.random() < 0.5:
                heapq.heappush(pool[plan.branch_id], (plan.closed_on, number, plan))
            if plan.status != LoanStatus.RESCHEDULED:  # its continuation still needs them
                plan.installments = plan.payments = []

    def _place(self, plan: LoanPlan, pool, branches) -> None:
        """The loan's branch, officer, approver and borrower: the rescheduled loan's, a
        returning client's (whose previous loan closed before this one was asked for), or a
        new client's."""
        old = plan.renewal_of
        previous = None
        if old is None and self.rng.random() < 0.25:
            waiting = pool[self.rng.choice(branches).pk]
            if waiting and waiting[0][0] < plan.submitted_on:
                previous = heapq.heappop(waiting)[2]
        source = old or previous
        if source is not None:
            plan.branch_id, plan.officer_id = source.branch_id, source.officer_id
            plan.borrower_index = source.borrower_index
            plan.previous = source
        else:
            branch = self.rng.choice(branches)
            officer = self.rng.choice(self.inst.officers[branch.pk])
            plan.branch_id, plan.officer_id = branch.pk, officer.pk
            plan.borrower_index = len(self.borrowers)
            self.borrowers.append(
                (
                    self.take_ids("crm_party"),
                    branch.pk,
                    officer.pk,
                    self.rng.random() < ENTERPRISE_SHARE,
                    plan.submitted_on,
                )
            )
        plan.approver_id = self.inst.managers[plan.branch_id].pk

    def _loan_history(self, plan: LoanPlan) -> None:
        """The loan's installments, its transactions with their journal entries and
        allocations, and (with the audit trail) one event per repayment."""
        version = plan.product.version
        days = self.days
        loan_id = plan.loan_id
        first_installment = self.take_ids("loans_installment", len(plan.installments))
        add = self.installment_copy.add_line
        for offset, row in enumerate(plan.installments):
            charged = row.penalty_charged_on
            due = (
                f"{str(row.principal_due)}\t{str(row.interest_due)}\t{str(row.fee_due)}\t"
                f"{str(row.penalty_due)}"
            )
            if row.paid_on is not None and row.paid_on <= self.as_of:
                paid = due  # paid in full: the paid amounts are the amounts due
            else:
                paid = (
                    f"{str(row.principal_paid)}\t{str(row.interest_paid)}\t"
                    f"{str(row.fee_paid)}\t{str(row.penalty_paid)}"
                )
            add(
                f"{first_installment + offset}\t{loan_id}\t{row.number}\t{days[row.due_date]}\t"
                f"{due}\t{paid}\t{str(row.interest_accrued)}\t{str(row.fee_accrued)}\t"
                f"{days[charged] if charged else NULL}"
            )
        common = {
            "branch_id": plan.branch_id,
            "currency": version.currency,
            "rule_set_id": plan.product.rule_set_id,
            "source": EntrySource.LOAN_TRANSACTION,
        }
        manager = self.users["manager"].pk
        if plan.renewal_of is not None:
            self._transaction(
                plan,
                TransactionKind.RESCHEDULE,
                plan.disbursed_on,
                plan.principal,
                (plan.principal, ZERO, ZERO, ZERO, ZERO),
                None,
                manager,
            )
        else:
            fee = round_money(
                version.disbursement_fee_flat
                + plan.principal * version.disbursement_fee_percent / 100,
                version.currency,
            )
            txn_id = self.take_ids("loans_loantransaction")
            entry_id = self.post(
                day=plan.disbursed_on,
                amounts=(
                    (PostingEvent.DISBURSEMENT, plan.principal),
                    (PostingEvent.DISBURSEMENT_FEE, fee),
                ),
                description=f"Disbursement of loan {plan.number}",
                reference=f"loan-txn-{txn_id}",
                actor_id=plan.approver_id,
                **common,
            )
            self._transaction(
                plan,
                TransactionKind.DISBURSEMENT,
                plan.disbursed_on,
                plan.principal,
                (plan.principal, ZERO, fee, ZERO, ZERO),
                entry_id,
                plan.approver_id,
                txn_id=txn_id,
                channel="cash",
            )
        add_allocation = self.allocation_copy.add_line
        description = f"Repayment on loan {plan.number}"
        for payment in plan.payments:
            txn_id = self.take_ids("loans_loantransaction")
            entry_id = self.post(
                day=payment.day,
                amounts=(
                    (PostingEvent.ACCRUAL_INTEREST, payment.accrued_interest_now),
                    (PostingEvent.ACCRUAL_FEE, payment.accrued_fee_now),
                    (PostingEvent.REPAYMENT_PRINCIPAL, payment.principal),
                    (PostingEvent.REPAYMENT_INTEREST, payment.interest),
                    (PostingEvent.REPAYMENT_FEE, payment.fee),
                    (PostingEvent.REPAYMENT_PENALTY, payment.penalty),
                    (PostingEvent.OVERPAYMENT, payment.overpayment),
                ),
                description=description,
                reference=f"loan-txn-{txn_id}",
                actor_id=plan.officer_id,
                **common,
            )
            parts = (
                payment.principal,
                payment.interest,
                payment.fee,
                payment.penalty,
                payment.overpayment,
            )
            self._transaction(
                plan,
                TransactionKind.REPAYMENT,
                payment.day,
                payment.amount,
                parts,
                entry_id,
                plan.officer_id,
                txn_id=txn_id,
                channel=plan.channel,
            )
            allocation_id = self.take_ids("loans_repaymentallocation", len(payment.allocations))
            for (
                index,
                principal,
                interest,
                fee,
                penalty,
                interest_now,
                fee_now,
            ) in payment.allocations:
                add_allocation(
                    f"{allocation_id}\t{txn_id}\t{first_installment + index}\t{str(principal)}\t"
                    f"{str(interest)}\t{str(fee)}\t{str(penalty)}\t{str(interest_now)}\t"
                    f"{str(fee_now)}"
                )
                allocation_id += 1
            if self.with_audit:
                self.audit(
                    plan,
                    "loan.repayment_recorded",
                    payment.day,
                    plan.officer_id,
                    after=(
                        f'{{"transaction": {txn_id}, "amount": "{str(payment.amount)}", '
                        f'"value_date": "{days[payment.day]}", "penalty": "{str(payment.penalty)}", '
                        f'"fee": "{str(payment.fee)}", "interest": "{str(payment.interest)}", '
                        f'"principal": "{str(payment.principal)}", '
                        f'"overpayment": "{str(payment.overpayment)}"}}'
                    ),
                )
        if plan.status == LoanStatus.WRITTEN_OFF:
            owed = [
                sum(
                    (
                        getattr(row, f"{part}_due") - getattr(row, f"{part}_paid")
                        for row in plan.installments
                    ),
                    ZERO,
                )
                for part in ("principal", "interest", "fee", "penalty")
            ]
            txn_id = self.take_ids("loans_loantransaction")
            entry_id = self.post(
                day=plan.ended_on,
                amounts=((PostingEvent.WRITE_OFF, owed[0]),),
                description=f"Write-off of loan {plan.number}",
                reference=f"loan-txn-{txn_id}",
                actor_id=manager,
                **common,
            )
            self._transaction(
                plan,
                TransactionKind.WRITE_OFF,
                plan.ended_on,
                sum(owed, ZERO),
                (*owed, ZERO),
                entry_id,
                manager,
                txn_id=txn_id,
            )

    def _transaction(
        self, plan, kind, day, amount, parts, entry_id, actor, *, txn_id=None, channel=""
    ) -> None:
        """A loan transaction; ``parts`` are principal, interest, fee, penalty, overpayment."""
        txn_id = txn_id or self.take_ids("loans_loantransaction")
        principal, interest, fee, penalty, overpayment = parts
        text = self.days[day]
        self.transaction_copy.add_line(
            f"{txn_id}\t{plan.loan_id}\t{kind}\t{text}\t{str(amount)}\t{str(principal)}\t"
            f"{str(interest)}\t{str(fee)}\t{str(penalty)}\t{str(overpayment)}\t{channel}\t\t"
            f"{_id(entry_id)}\tf\t{NULL}\t{actor}\t{text} 12:00:00+00"
        )

    # --- audit ---------------------------------------------------------------------------------

    def audit(self, plan, action: str, day, actor_id, *, before: str = NULL, after: str) -> None:
        """An audit event on the loan; ``before`` and ``after`` are JSON text."""
        event_id = self.take_ids("audit_auditevent")
        self.audit_copy.add_line(
            f"{event_id}\t{self.days[day]} 10:00:00+00\t{actor_id}\t{action}\t{self.loan_type}\t"
            f"{plan.loan_id}\t{plan.number}\t{plan.branch_id}\t{before}\t{after}\t"
        )

    def _lifecycle_audit(self, plan: LoanPlan) -> None:
        self.audit(
            plan,
            "loan.submitted",
            plan.submitted_on,
            plan.officer_id,
            after=f'{{"number": "{plan.number}", "principal": "{str(plan.principal)}"}}',
        )
        moves = []
        if plan.status == LoanStatus.REJECTED:
            moves.append(("rejected", plan.submitted_on + 3 * DAY, plan.approver_id))
        elif plan.status == LoanStatus.WITHDRAWN:
            moves.append(("withdrawn", plan.submitted_on + 4 * DAY, plan.officer_id))
        elif plan.approved_on is not None and plan.status != LoanStatus.SUBMITTED:
            moves.append(("approved", plan.approved_on, plan.approver_id))
        if plan.is_disbursed and plan.renewal_of is None:
            moves.append(("active", plan.disbursed_on, plan.approver_id))
        final = {
            LoanStatus.CLOSED: plan.closed_on,
            LoanStatus.WRITTEN_OFF: plan.ended_on,
            LoanStatus.RESCHEDULED: plan.ended_on,
            LoanStatus.OVERPAID: plan.payments[-1].day if plan.payments else None,
        }.get(plan.status)
        if final is not None:
            moves.append((plan.status, final, self.users["manager"].pk))
        before = "submitted"
        for status, day, actor in moves:
            action = "loan.disbursed" if status == "active" else f"loan.{status}"
            self.audit(
                plan,
                action,
                day,
                actor,
                before=f'{{"status": "{before}"}}',
                after=f'{{"status": "{status}"}}',
            )
            before = status

    # --- ledger history beyond the loans ---------------------------------------------------------

    def write_end_of_day_history(self) -> None:
        """The end-of-day job's aggregated accrual entries (one per day, branch, rule set and
        currency, as ``loans.end_of_day`` posts them) and a finished run for every past day."""
        branches = {branch.pk for branch in self.inst.branches}
        for (day, branch_id, rule_set_id, currency), (interest, fee) in sorted(
            self.accruals.items()
        ):
            assert branch_id in branches
            self.post(
                day=day,
                branch_id=branch_id,
                currency=currency,
                rule_set_id=rule_set_id,
                amounts=(
                    (PostingEvent.ACCRUAL_INTEREST, interest),
                    (PostingEvent.ACCRUAL_FEE, fee),
                ),
                description=f"End of day {day.isoformat()}: accruals",
                source=EntrySource.END_OF_DAY,
                reference=f"eod-{day.isoformat()}-accruals-{branch_id}-{rule_set_id}-{currency}",
                actor_id=None,
            )
        runs = self.copy("loans_endofdayrun", "id, business_date, started_at, finished_at, stats")
        day = self.first_day
        while day < self.as_of:
            runs.add(
                self.take_ids("loans_endofdayrun"),
                day,
                stamp(day, "21:00:00"),
                stamp(day, "21:01:00"),
                json.dumps({"business_date": day.isoformat(), "seeded": True}),
            )
            day += DAY

    def write_funding(self) -> None:
        """Each branch's cash box funded from borrowings before the first loan (a manual entry,
        made by the accountant and approved by the manager): what it paid out, in each currency."""
        day = self.first_day - DAY
        for (branch_id, currency), amount in sorted(self.paid_out.items()):
            self.entry(
                day=day,
                branch_id=branch_id,
                currency=currency,
                lines=[
                    (self.inst.cash_accounts[branch_id], amount, True),
                    (self.inst.accounts[AccountRole.BORROWINGS], amount, False),
                ],
                description="Funding of the branch cash box (credit line)",
                source=EntrySource.MANUAL,
                reference="",
                actor_id=self.users["accountant"].pk,
                approver_id=self.users["manager"].pk,
            )

    def write_closed_periods(self) -> None:
        """Months more than one month old are closed, in every branch."""
        copy = self.copy(
            "accounting_accountingperiod", "id, branch_id, year, month, closed_by_id, closed_at"
        )
        last_open = self.as_of.replace(day=1) - DAY
        last_closed = last_open.replace(day=1) - DAY
        branches = [self.inst.head_office, *self.inst.branches]
        year, month = (self.first_day - DAY).year, (self.first_day - DAY).month
        while (year, month) <= (last_closed.year, last_closed.month):
            closed_at = datetime.date(year + month // 12, month % 12 + 1, 5)
            for branch in branches:
                copy.add(
                    self.take_ids("accounting_accountingperiod"),
                    branch.pk,
                    year,
                    month,
                    self.users["accountant"].pk,
                    stamp(closed_at, "16:00:00"),
                )
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    # --- PAR history --------------------------------------------------------------------------

    def _month_ends(self) -> list[datetime.date]:
        month_ends = []
        year, month = self.first_day.year, self.first_day.month
        while (year, month) <= (self.as_of.year, self.as_of.month):
            following = datetime.date(year + month // 12, month % 12 + 1, 1)
            if self.first_day <= following - DAY < self.as_of:
                month_ends.append(following - DAY)
            year, month = following.year, following.month
        return month_ends

    def _snapshot_slices(self, plan: LoanPlan, month_ends) -> None:
        """Add the loan to the month-end snapshots it was part of (on the books that day)."""
        ended = plan.closed_on or plan.ended_on
        product = plan.product
        for month_end in month_ends:
            if month_end < plan.disbursed_on or (ended and ended <= month_end):
                continue
            outstanding, days_late = _position(plan, month_end)
            if outstanding <= 0 and days_late == 0 and plan.status not in PORTFOLIO_STATUSES:
                continue
            key = (
                month_end,
                plan.branch_id,
                plan.officer_id,
                product.product_id,
                product.version.currency,
            )
            row = self.slices.get(key)
            if row is None:
                row = self.slices[key] = [0, 0, ZERO, ZERO, ZERO, ZERO]
            row[0] += 1
            row[1] += days_late > 0
            row[2] += outstanding
            if days_late > 1:
                row[3] += outstanding
            if days_late > 30:
                row[4] += outstanding
            if days_late > 90:
                row[5] += outstanding

    def write_month_end_snapshots(self) -> None:
        """The end-of-day job's portfolio snapshot of every past month end, per branch, officer,
        product and currency: what ``loans.end_of_day._snapshot`` recorded on those days."""
        copy = self.copy(
            "loans_portfoliosnapshot",
            "id, business_date, branch_id, officer_id, product_id, currency, loans_active, "
            "loans_in_arrears, outstanding_principal, par1_principal, par30_principal, "
            "par90_principal",
        )
        for (day, branch_id, officer_id, product_id, currency), row in sorted(self.slices.items()):
            copy.add(
                self.take_ids("loans_portfoliosnapshot"),
                day,
                branch_id,
                officer_id,
                product_id,
                currency,
                *row,
            )

    # --- coaching ------------------------------------------------------------------------------

    def write_coaching(self) -> None:
        """Coaching engagements for a share of the borrowers, with their sessions."""
        coaches, products = self.coaches, self.coaching_products
        if not coaches or not products:
            return
        engagement_copy = self.copy(
            "coaching_engagement",
            "id, party_id, product_id, coach_id, status, needs, requested_skills, "
            "requested_sector, requested_island, requested_language, package_hours, price, "
            "currency, subsidy_percent, requested_on, accepted_on, started_on, completed_on, "
            "cancelled_on, cancellation_reason, requested_by_id, created_at",
        )
        session_copy = self.copy(
            "coaching_session",
            "id, engagement_id, status, scheduled_at, duration_minutes, mode, situation, "
            "advice, agreed_actions, logged_by_id, logged_at, confirmed_by_customer_at, "
            "confirmation_channel, confirmation_recorded_by_id",
        )
        rng = self.rng
        for party_id, disbursed_on, officer_id in self.coached:
            coach = rng.choice(coaches)
            product = rng.choice(products)
            engagement_id = self.take_ids("coaching_engagement")
            start = disbursed_on + datetime.timedelta(days=rng.randint(3, 20))
            sessions = int(product.package_hours)
            done = all(start + datetime.timedelta(weeks=k) < self.as_of for k in range(sessions))
            engagement_copy.add(
                engagement_id,
                party_id,
                product.pk,
                coach.pk,
                "completed" if done else "active",
                "Acompanhamento da gestão do negócio financiado.",
                "[]",
                "",
                "",
                "",
                product.package_hours,
                product.price,
                product.currency,
                product.subsidy_percent,
                start - 2 * DAY,
                start - DAY,
                start,
                start + datetime.timedelta(weeks=sessions) if done else None,
                None,
                "",
                officer_id,
                stamp(start - 2 * DAY),
            )
            for week in range(sessions):
                day = start + datetime.timedelta(weeks=week)
                held = day < self.as_of
                session_copy.add(
                    self.take_ids("coaching_session"),
                    engagement_id,
                    "held" if held else "planned",
                    stamp(day, "15:00:00"),
                    60,
                    "in_person",
                    "Revisão das vendas e da tesouraria da semana." if held else "",
                    "Registar todas as vendas no caderno." if held else "",
                    "Separar o dinheiro do negócio e da casa." if held else "",
                    coach.user_id,
                    stamp(day, "17:00:00"),
                    stamp(day, "17:30:00") if held else None,
                    "staff" if held else "",
                    coach.user_id if held else None,
                )

    def flush(self) -> dict[str, int]:
        """Send what is left of every table and wait for the load; rows written per table."""
        for copy in self.copies.values():
            copy.flush()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        set_sequence("loans_loan_number", self.loan_total)
        return {table: copy.count for table, copy in self.copies.items() if copy.count}


def _position(plan: LoanPlan, day: datetime.date) -> tuple[Decimal, int]:
    """Outstanding principal and days past due of a loan at the end of ``day`` (as the end of
    day computes them: the oldest installment due before ``day`` and not fully paid by then)."""
    paid = sum((payment.principal for payment in plan.payments if payment.day <= day), ZERO)
    outstanding = plan.principal - paid
    for row in plan.installments:
        if row.due_date >= day:
            break
        if row.paid_on is None or row.paid_on > day:
            return outstanding, (day - row.due_date).days
    return outstanding, 0
