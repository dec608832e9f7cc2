"""factory_boy factories for the organisation (branches and staff).

Parties are built through the real CRM services (see ``tests/crm/factories.py``), not by writing rows.
"""

import factory

from users.models import Branch, User
from users.roles import Role

TEST_PASSWORD = "correct-horse-battery-9"

# The persona fixtures of tests/conftest.py, one per role (Praia or head office).
ROLE_PERSONAS = [
    "loan_officer",
    "branch_manager",
    "credit_committee",
    "accountant",
    "coach",
    "field_agent",
    "service_desk",
    "compliance_officer",
    "manager",
    "auditor",
    "administrator",
]


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"branch{n}")
    name = factory.LazyAttribute(lambda branch: branch.code.title())
    island = "santiago"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    role = Role.LOAN_OFFICER
    branch = factory.SubFactory(BranchFactory)
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.cv")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or TEST_PASSWORD)
        if create:
            self.save(update_fields=["password"])
