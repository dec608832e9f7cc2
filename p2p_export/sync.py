"""One full synchronisation cycle with a platform, as the hourly task and ``manage.py p2p_sync``
run it: refresh lookups, sweep withdrawn consents, send pending takedowns, push validated
profiles, poll statuses, send last month's repayments, draft and send news, and (file platforms)
build and deliver the package. One step failing is reported and the cycle goes on.

A dry run calls no platform and changes nothing: it reports what would be done, with the exact
payload of every profile that would be pushed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from p2p_export import journals, packages, reconciliation, services
from p2p_export.choices import (
    ON_PLATFORM_STATES,
    JournalStatus,
    OutboxKind,
    OutboxStatus,
    PlatformKind,
    PublicationState,
)
from p2p_export.http import TransientError
from p2p_export.models import JournalDraft, OutboxMessage, Platform, Publication
from p2p_export.payload import draft_payload, payload_hash
from p2p_export.platforms import adapter_for
from p2p_export.platforms.base import PlatformRefused
from p2p_export.validation import profile_errors

S = PublicationState
LOOKUPS_MAX_AGE = datetime.timedelta(days=1)


@dataclass
class SyncSummary:
    """What one cycle did (or, in a dry run, would do) on one platform."""

    platform: str
    dry_run: bool = False
    lookups: int = 0
    withdrawn: int = 0
    requests_sent: int = 0
    pushed: int = 0
    found_existing: int = 0
    refused: int = 0
    statuses_changed: int = 0
    repayment_lines: int = 0
    journals_drafted: int = 0
    journals_sent: int = 0
    packages: list[str] = field(default_factory=list)
    payloads: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_lines(self) -> list[str]:
        would = "would " if self.dry_run else ""
        lines = [
            f"{self.platform}{' (dry run)' if self.dry_run else ''}:",
            f"  {would}push {self.pushed} profile(s)"
            f" ({self.found_existing} already on the platform), {self.refused} refused",
            f"  {would}poll statuses: {self.statuses_changed} changed",
            f"  {would}send {self.repayment_lines} repayment line(s)",
            f"  news: {self.journals_drafted} drafted, {would}send {self.journals_sent}",
            f"  takedowns/anonymisations {would}send {self.requests_sent};"
            f" withdrawn for lost consent {self.withdrawn}",
            f"  lookups refreshed {self.lookups}; packages {', '.join(self.packages) or '-'}",
        ]
        lines += [f"  error: {error}" for error in self.errors]
        return lines

    def as_dict(self) -> dict:
        data = dict(self.__dict__)
        data["payloads"] = [payload_hash(payload) for payload in self.payloads]
        return data


def _previous_month(day: datetime.date) -> tuple[int, int]:
    last = day.replace(day=1) - datetime.timedelta(days=1)
    return last.year, last.month


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc)


def _dry_run(platform: Platform, summary: SyncSummary, day: datetime.date) -> SyncSummary:
    for publication in Publication.objects.filter(platform=platform, state=S.VALIDATED).order_by(
        "pk"
    ):
        if profile_errors(publication):
            summary.refused += 1
        else:
            summary.pushed += 1
            summary.payloads.append(draft_payload(publication))
    summary.statuses_changed = Publication.objects.filter(
        platform=platform, state__in=ON_PLATFORM_STATES
    ).count()
    year, month = _previous_month(day)
    _publications, transactions = reconciliation.repayment_candidates(
        platform=platform, year=year, month=month
    )
    summary.repayment_lines = transactions.count()
    summary.journals_sent = JournalDraft.objects.filter(
        publication__platform=platform, status=JournalStatus.APPROVED
    ).count()
    summary.requests_sent = OutboxMessage.objects.filter(
        platform=platform,
        status=OutboxStatus.PENDING,
        kind__in=[OutboxKind.TAKEDOWN, OutboxKind.ANONYMISE],
    ).count()
    return summary


def sync_platform(
    *, actor, platform: Platform, dry_run: bool = False, today: datetime.date | None = None
) -> SyncSummary:
    day = today or timezone.localdate()
    summary = SyncSummary(platform=platform.code, dry_run=dry_run)
    if dry_run:
        return _dry_run(platform, summary, day)

    def step(name: str, work) -> None:
        try:
            work()
        except (TransientError, PlatformRefused, ValidationError) as exc:
            summary.errors.append(f"{name}: {_message(exc)}")

    def refresh_lookups() -> None:
        oldest = platform.lookups.order_by("fetched_at").values_list("fetched_at", flat=True)
        if platform.kind == PlatformKind.KIVA and (
            not oldest or oldest[0] < timezone.now() - LOOKUPS_MAX_AGE
        ):
            summary.lookups = services.lookups_refresh(actor=actor, platform=platform)

    def sweep() -> None:
        summary.withdrawn = services.consent_sweep(actor=actor, platform=platform)

    def send_requests() -> None:
        pending = OutboxMessage.objects.filter(
            platform=platform,
            status=OutboxStatus.PENDING,
            kind__in=[OutboxKind.TAKEDOWN, OutboxKind.ANONYMISE],
        )
        if platform.kind == PlatformKind.FILES:
            return
        for message in pending.order_by("pk"):
            sent = services.outbox_send(message=message)
            summary.requests_sent += sent.status == OutboxStatus.SENT

    def push() -> None:
        validated = Publication.objects.filter(platform=platform, state=S.VALIDATED).order_by("pk")
        for publication in validated:
            try:
                outcome = services.publication_push(actor=actor, publication=publication)
            except ValidationError:
                summary.refused += 1
                continue
            summary.pushed += 1
            summary.found_existing += outcome.found_existing

    def poll() -> None:
        summary.statuses_changed = services.platform_status_sync(actor=actor, platform=platform)

    def repayments() -> None:
        year, month = _previous_month(day)
        for report in reconciliation.repayments_send(
            actor=actor, platform=platform, year=year, month=month
        ):
            summary.repayment_lines += report.lines.count()

    def news() -> None:
        for publication in Publication.objects.filter(
            platform=platform, state__in=journals.NEWS_STATES, is_anonymised=False
        ).order_by("pk"):
            summary.journals_drafted += len(
                journals.journal_generate(actor=actor, publication=publication)
            )
        if platform.kind == PlatformKind.KIVA:
            summary.journals_sent = journals.journals_send_approved(actor=actor, platform=platform)

    def package() -> None:
        if platform.kind != PlatformKind.FILES:
            return
        built = packages.package_build(actor=actor, platform=platform, today=day)
        if built is not None:
            summary.packages.append(built.filename)
            summary.journals_sent = built.updates
            if adapter_for(platform).delivers_over_http:
                packages.package_deliver(actor=actor, package=built)

    step("lookups", refresh_lookups)
    step("consent", sweep)
    step("takedowns", send_requests)
    step("push", push)
    step("status", poll)
    step("repayments", repayments)
    step("news", news)
    step("package", package)
    Platform.objects.filter(pk=platform.pk).update(last_synced_at=timezone.now())
    return summary


def sync_all(*, actor=None, dry_run: bool = False, code: str = "") -> list[SyncSummary]:
    """One cycle on every active platform (or the one with ``code``)."""
    platforms = Platform.objects.filter(is_active=True).order_by("code")
    if code:
        platforms = platforms.filter(code=code)
    return [sync_platform(actor=actor, platform=p, dry_run=dry_run) for p in platforms]
