"""What is sent for a publication: the exact loan-draft payload of a Kiva-compatible platform and
the profile row of a file-based platform. Built from the profile (the edited copy), the loan and
its schedule; only processed photos are ever read. Pure reads."""

from __future__ import annotations

import base64
import hashlib
import json

from p2p_export.choices import PlatformKind

GENDERS = {"female": "female", "male": "male", "other": "nonbinary"}


def payload_hash(payload: dict) -> str:
    """SHA-256 of the canonical JSON of a payload (what ``last_pushed_hash`` records)."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def primary_photo(publication):
    """The processed main photo, or None (never the original)."""
    if publication.is_not_pictured:
        return None
    photos = [photo for photo in publication.photos.all() if photo.processed]
    return photos[0] if photos else None


def photo_bytes(photo) -> bytes:
    with photo.processed.open("rb") as handle:
        return handle.read()


def _amount(value, currency: str) -> str:
    from mfi.money import round_money

    return str(round_money(value, currency))


def schedule_rows(loan) -> list[dict]:
    return [
        {
            "date": row.due_date.isoformat(),
            "principal": _amount(row.principal_due, loan.currency),
            "interest": _amount(row.interest_due, loan.currency),
        }
        for row in loan.installments.order_by("number")
    ]


def kiva_draft(publication) -> dict:
    """The body of ``POST /v3/partner/{id}/loan_draft``."""
    loan = publication.loan
    profile = publication.profile
    borrowers = list(publication.borrowers.all())
    photo = primary_photo(publication)
    is_group = len(borrowers) > 1
    payload = {
        "internal_loan_id": publication.internal_loan_id,
        "internal_client_id": str(loan.borrower_id),
        "activity_id": int(profile.activity.external_id) if profile.activity else None,
        "theme_type_id": int(profile.theme.external_id) if profile.theme else None,
        "location": profile.location.name if profile.location else "",
        "description": profile.story,
        "description_language": profile.description_language,
        "loanuse": profile.loan_use,
        "currency": loan.currency,
        "disburse_time": f"{loan.disbursed_on.isoformat()}T00:00:00Z" if loan.disbursed_on else "",
        "client_waiver_signed": True,
        "image_encoded": base64.b64encode(photo_bytes(photo)).decode() if photo else None,
        "borrowers": [
            {
                "first_name": b.first_name,
                "last_name": b.last_name,
                "gender": GENDERS.get(b.gender, "nonbinary"),
                "is_primary": index == 0,
                "client_id": str(b.person_id),
                "loan_id": publication.internal_loan_id,
                "amount": _amount(b.amount, loan.currency),
            }
            for index, b in enumerate(borrowers)
        ],
        "schedule": schedule_rows(loan),
        "not_pictured": [
            str(b.person_id) for b in borrowers if publication.is_not_pictured or not b.is_pictured
        ],
    }
    if is_group:
        payload["group_name"] = profile.group_name
    return payload


def profile_row(publication) -> dict:
    """One line of a file package's profiles (CSV and JSON): what the platform shows lenders."""
    loan = publication.loan
    profile = publication.profile
    borrowers = list(publication.borrowers.all())
    photo = primary_photo(publication)
    return {
        "internal_loan_id": publication.internal_loan_id,
        "internal_client_id": str(loan.borrower_id),
        "first_name": profile.first_name,
        "gender": borrowers[0].gender if borrowers else "",
        "group_name": profile.group_name,
        "borrowers": len(borrowers),
        "story": profile.story,
        "loan_use": profile.loan_use,
        "activity": profile.activity.name if profile.activity else "",
        "location": profile.location.name if profile.location else profile.coarse_location,
        "family_situation": profile.family_situation,
        "standard_of_living": profile.standard_of_living,
        "amount": _amount(loan.principal, loan.currency),
        "currency": loan.currency,
        "number_of_repayments": loan.number_of_repayments,
        "disbursement_date": loan.disbursed_on.isoformat() if loan.disbursed_on else "",
        "language": profile.description_language or publication.platform.language,
        "photo": f"photos/{publication.internal_loan_id}.jpg" if photo else "",
    }


def draft_payload(publication) -> dict:
    """The exact payload a push sends (what a dry run shows)."""
    if publication.platform.kind == PlatformKind.KIVA:
        return kiva_draft(publication)
    return profile_row(publication)
