"""Load the deterministic demo data (idempotent) and print one login per role."""

from django.core.management.base import BaseCommand

from mfi.demo.coaching import seed_coaching
from mfi.demo.compliance import seed_compliance
from mfi.demo.ledger import seed_ledger
from mfi.demo.loans import seed_loans
from mfi.demo.organisation import DEMO_PASSWORD, STAFF, seed_organisation
from mfi.demo.p2p import seed_p2p
from mfi.demo.parties import seed_parties
from users.two_factor import TWO_FACTOR_REQUIRED_ROLES


class Command(BaseCommand):
    help = "Load demo branches, staff for every role, persons and enterprises. Safe to re-run."

    def add_arguments(self, parser):
        parser.add_argument(
            "--quiet-logins", action="store_true", help="Do not print the demo logins."
        )

    def handle(self, *args, quiet_logins=False, **options):
        users = seed_organisation()
        created = seed_parties(actor=users["admin"])
        entries = seed_ledger(maker=users["accountant"], checker=users["manager"])
        loans = seed_loans(users=users)
        engagements = seed_coaching(users=users)
        cases = seed_compliance(users=users)
        publications = seed_p2p(users=users)
        self.stdout.write(
            f"Demo data ready ({created} parties, {entries} journal entries, {loans} loans, "
            f"{engagements} coaching engagements, {cases} compliance cases and {publications} "
            "P2P publications created this run)."
        )
        if not quiet_logins:
            self.stdout.write(
                self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD}):")
            )
            for staff in STAFF:
                second_step = (
                    "  (two-factor: scan the QR code with an authenticator app at first sign-in)"
                    if staff.role in TWO_FACTOR_REQUIRED_ROLES
                    else ""
                )
                self.stdout.write(f"  {staff.role.label:<28} {staff.username}{second_step}")
