"""The maintained registry coverage (``PartyCoverage``) equals the latest ``as_of +
freshness_days`` per party and source kind, whatever happens to the records and sources."""

from __future__ import annotations

import datetime

from compliance.choices import RunStatus, RunTrigger
from compliance.models import PartyCoverage, RegistryRecord
from tests.compliance.records import bank_source, inps_record, inps_source, record
from tests.crm.factories import make_person


def _coverage() -> dict[tuple[int, str], datetime.date]:
    return {
        (row.party_id, row.kind): row.fresh_until
        for row in PartyCoverage.objects.order_by("party_id", "kind")
    }


def test_new_records_extend_the_coverage_of_their_kind(loan_officer):
    # given: two social security sources (fresh 35 and 10 days) and a bank
    ana, rui = make_person(loan_officer), make_person(loan_officer)
    inps, inps_files = inps_source(freshness_days=35), inps_source(freshness_days=10)
    bank = bank_source(freshness_days=40)
    bank_run = bank.runs.create(trigger=RunTrigger.SCHEDULE, status=RunStatus.SUCCEEDED)
    # when
    inps_record(inps, ana, as_of=datetime.date(2026, 9, 30))
    inps_record(inps_files, ana, as_of=datetime.date(2026, 10, 31))  # 10 Nov, later than 4 Nov
    inps_record(inps, ana, as_of=datetime.date(2026, 8, 31))  # older: changes nothing
    RegistryRecord.objects.bulk_create(
        [
            RegistryRecord(
                source=bank,
                run=bank_run,
                party=rui,
                nif=rui.nif,
                as_of=datetime.date(2026, 10, 31),
                retrieved_at=datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
                status="none",
                data={},
                payload_sha256=f"bank-{index}",
            )
            for index in range(2)
        ]
    )
    # then
    assert _coverage() == {
        (ana.pk, "social_security"): datetime.date(2026, 11, 10),
        (rui.pk, "bank"): datetime.date(2026, 12, 10),
    }


def test_rematched_deleted_records_and_a_changed_freshness_are_recomputed(loan_officer):
    # given
    ana, rui = make_person(loan_officer), make_person(loan_officer)
    inps = inps_source(freshness_days=35)
    newer = inps_record(inps, ana, as_of=datetime.date(2026, 10, 31))
    inps_record(inps, ana, as_of=datetime.date(2026, 9, 30))
    # when: the newer record turns out to be Rui's (reconciliation re-matches it)
    RegistryRecord.objects.filter(pk=newer.pk).update(party=rui)
    # then
    assert _coverage() == {
        (ana.pk, "social_security"): datetime.date(2026, 11, 4),
        (rui.pk, "social_security"): datetime.date(2026, 12, 5),
    }
    # when: the source's data stays fresh for 5 days only
    inps.freshness_days = 5
    inps.save(update_fields=["freshness_days"])
    # then
    assert _coverage() == {
        (ana.pk, "social_security"): datetime.date(2026, 10, 5),
        (rui.pk, "social_security"): datetime.date(2026, 11, 5),
    }
    # when: Rui's record is deleted
    RegistryRecord.objects.filter(party=rui).delete()
    # then
    assert _coverage() == {(ana.pk, "social_security"): datetime.date(2026, 10, 5)}


def test_unmatched_records_cover_nobody(loan_officer):
    # given
    ana = make_person(loan_officer)
    inps = inps_source()
    # when
    unmatched = record(inps, ana, as_of=datetime.date(2026, 10, 31), status="regular")
    RegistryRecord.objects.filter(pk=unmatched.pk).update(party=None)
    # then
    assert _coverage() == {}
