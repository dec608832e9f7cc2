"""The rules a profile must meet before it is pushed, mirroring the platforms' own, and the
consent gate. Each failure is a message keyed by the profile field it is about, so the profile
editor shows it next to that field. Pure reads: nothing here changes the database.
"""

from __future__ import annotations

import re

from django.db.models import Sum
from django.utils.translation import gettext as _

from crm.choices import ConsentPurpose, ConsentStatus, LinkKind, PartyKind
from crm.models import Consent, Person
from mfi.money import ZERO, round_money
from p2p_export.choices import LookupKind

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")
REQUIRED = _("This field is required.")


def borrower_persons(loan) -> list[Person]:
    """The persons behind a loan: the borrower, or the owners of a borrowing enterprise."""
    if loan.borrower.kind == PartyKind.PERSON:
        return [Person.objects.get(pk=loan.borrower_id)]
    return list(
        Person.objects.filter(
            links_from__to_party_id=loan.borrower_id, links_from__kind=LinkKind.OWNER
        ).order_by("pk")
    )


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def story_problems(text: str, persons) -> list[str]:
    """What must never be in a published text: a last name, an e-mail, an ID or phone number."""
    problems = []
    lowered = text.lower()
    for person in persons:
        for part in person.last_name.split():
            if len(part) >= 3 and re.search(rf"\b{re.escape(part.lower())}\b", lowered):
                problems.append(
                    _("Remove the last name “%(name)s”: only the first name is published.")
                    % {"name": part}
                )
    if EMAIL.search(text):
        problems.append(_("Remove the e-mail address: contact details are never published."))
    identifiers = {
        _digits(value)
        for person in persons
        for value in (person.nif, person.civil_id, person.social_security_number)
        if value and len(_digits(value)) >= 5
    }
    numbers = [_digits(match.group()) for match in PHONE.finditer(text)]
    text_digits = _digits(text)
    if any(identifier in text_digits for identifier in identifiers):
        problems.append(_("Remove the ID number: identity numbers are never published."))
    elif any(len(number) >= 7 for number in numbers):
        problems.append(_("Remove the phone number: contact details are never published."))
    return problems


def consent_gaps(publication) -> dict[str, list[str]]:
    """The consent gate: every borrower has given (and not withdrawn) consent to P2P
    publication; the loan has a signed waiver of every pictured person (at least the main
    borrower's), and every pictured person consented to the publication of their photo."""
    errors: dict[str, list[str]] = {}
    borrowers = list(publication.borrowers.select_related("person"))
    pictured = set()
    if not publication.is_not_pictured:
        pictured = {b.person_id for b in borrowers if b.is_pictured}
        pictured |= {p.person_id for p in publication.photos.all() if p.person_id}
    consents = set(
        Consent.objects.filter(
            party_id__in={b.person_id for b in borrowers} | pictured, status=ConsentStatus.GIVEN
        ).values_list("party_id", "purpose")
    )
    waivers = set(
        publication.loan.p2p_waivers.filter(withdrawn_on__isnull=True).values_list(
            "person_id", flat=True
        )
    )
    names = {b.person_id: b.person.first_name for b in borrowers}
    for borrower in borrowers:
        if (borrower.person_id, ConsentPurpose.P2P_PUBLICATION) not in consents:
            errors.setdefault("consent", []).append(
                _("%(name)s has not given consent to publication on P2P platforms.")
                % {"name": names[borrower.person_id]}
            )
    need_waiver = pictured or ({borrowers[0].person_id} if borrowers else set())
    for person_id in sorted(need_waiver - waivers):
        name = names.get(person_id) or Person.objects.get(pk=person_id).first_name
        errors.setdefault("waiver", []).append(
            _("No signed waiver of %(name)s is on file for this loan.") % {"name": name}
        )
    for person_id in sorted(pictured):
        if (person_id, ConsentPurpose.PHOTO_PUBLICATION) not in consents:
            name = names.get(person_id) or Person.objects.get(pk=person_id).first_name
            errors.setdefault("consent", []).append(
                _("%(name)s has not given consent to the publication of their photo.")
                % {"name": name}
            )
    return errors


def profile_errors(publication) -> dict[str, list[str]]:
    """Every reason the platform would refuse this profile, plus the consent gate."""
    platform = publication.platform
    loan = publication.loan
    profile = publication.profile
    borrowers = list(publication.borrowers.select_related("person"))
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    lists = set(platform.lookups.values_list("kind", flat=True).distinct())
    is_group = len(borrowers) > 1
    required = ["story", "loan_use"] if is_group else ["first_name", "story", "loan_use"]
    required += ["activity"] if LookupKind.ACTIVITY in lists else []
    required += ["location"] if LookupKind.LOCATION in lists else ["coarse_location"]
    required += ["description_language"] if LookupKind.LOCALE in lists else []
    for field in required:
        if not getattr(profile, field if field not in {"activity", "location"} else field + "_id"):
            add(field, str(REQUIRED))
    if profile.story and len(profile.story) < platform.story_min_length:
        add(
            "story",
            _("The story must be at least %(min)s characters long (it has %(length)s).")
            % {"min": platform.story_min_length, "length": len(profile.story)},
        )
    persons = [b.person for b in borrowers]
    for field in ("story", "loan_use", "family_situation", "standard_of_living"):
        for problem in story_problems(getattr(profile, field), persons):
            add(field, problem)
    if loan.disbursed_on is None:
        add("disbursement_date", _("The loan has not been disbursed."))
    if loan.currency not in (platform.allowed_currencies or []):
        add(
            "currency",
            _("%(currency)s is not accepted by %(platform)s (it takes %(allowed)s).")
            % {
                "currency": loan.currency,
                "platform": platform.name,
                "allowed": ", ".join(platform.allowed_currencies or []) or "—",
            },
        )
    if not borrowers:
        add("borrowers", _("The loan has no borrower who can be published."))
    lent = sum((b.amount for b in borrowers), ZERO)
    if borrowers and lent != loan.principal:
        add(
            "borrowers",
            _("The borrowers' amounts add up to %(total)s; the loan is %(principal)s.")
            % {
                "total": round_money(lent, loan.currency),
                "principal": round_money(loan.principal, loan.currency),
            },
        )
    scheduled = loan.installments.aggregate(total=Sum("principal_due"))["total"] or ZERO
    if loan.disbursed_on is not None and scheduled != loan.principal:
        add(
            "schedule",
            _("The schedule's principal adds up to %(total)s; the loan is %(principal)s.")
            % {
                "total": round_money(scheduled, loan.currency),
                "principal": round_money(loan.principal, loan.currency),
            },
        )
    if profile.group_name and not is_group:
        add("group_name", _("A group name is only for group loans."))
    if is_group and not profile.group_name:
        add("group_name", _("A group loan needs a group name."))
    if not is_group and any(not b.is_pictured for b in borrowers):
        add(
            "borrowers",
            _(
                "Marking one borrower as not pictured is only for group loans; mark the profile "
                "as not pictured instead."
            ),
        )
    if not publication.is_not_pictured and not any(
        photo.processed for photo in publication.photos.all()
    ):
        add("photo", _("Add a photo, or mark the profile as not pictured."))
    for field, messages in consent_gaps(publication).items():
        for message in messages:
            add(field, message)
    return errors
