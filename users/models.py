"""Staff users, their role, and the branch hierarchy that scopes what they see."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import connection, models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from users.roles import ALL_BRANCH_ROLES, ASSIGNED_ONLY_ROLES, READ_ONLY_ROLES, Capability, Role
from users.roles import role_has as _role_has


class Branch(models.Model):
    """An office of the institution. The head office is the root (no parent); branches hang below.

    A user of a branch sees that branch and every branch below it.
    """

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent office"),
    )
    island = models.CharField(_("island"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("pk")), name="%(app_label)s_%(class)s_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_head_office(self) -> bool:
        return self.parent_id is None

    def subtree_ids(self) -> list[int]:
        """Primary keys of this branch and every branch below it."""
        return Branch.subtree_ids_of(self.pk)

    @staticmethod
    def subtree_ids_of(branch_id: int) -> list[int]:
        """Primary keys of the branch ``branch_id`` and every branch below it, in one query
        (read on every request of a branch-scoped user, so its branch row is not loaded)."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH RECURSIVE tree(id) AS (
                    SELECT %s::bigint
                    UNION
                    SELECT b.id FROM {Branch._meta.db_table} b JOIN tree ON b.parent_id = tree.id
                )
                SELECT id FROM tree
                """,  # noqa: S608 - the table name is the model's own
                [branch_id],
            )
            return [row[0] for row in cursor.fetchall()]


class User(AbstractUser):
    """A member of staff (or a volunteer coach) who signs in. One role, one home branch."""

    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    branch = models.ForeignKey(
        Branch,
        on_delete=models.PROTECT,
        related_name="staff",
        verbose_name=_("branch"),
        null=True,
        blank=True,
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    approval_limit = models.DecimalField(
        _("loan approval limit"),
        max_digits=20,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_(
            "Largest principal this person may approve; empty means no limit for a role "
            "that approves loans."
        ),
    )
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=8,
        blank=True,
        choices=[("en", "English"), ("pt", "Português"), ("fr", "Français")],
    )

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def has_capability(self, capability: Capability) -> bool:
        return self.is_active and _role_has(self.role, capability)

    @property
    def sees_all_branches(self) -> bool:
        if self.role in ALL_BRANCH_ROLES:
            return True
        return (
            self.branch is not None
            and self.branch.is_head_office
            and (self.role not in ASSIGNED_ONLY_ROLES)
        )

    @property
    def sees_assigned_only(self) -> bool:
        return self.role in ASSIGNED_ONLY_ROLES

    @property
    def is_read_only(self) -> bool:
        return self.role in READ_ONLY_ROLES

    def branch_scope_ids(self) -> list[int] | None:
        """Branch ids this user may see, or None for every branch."""
        if self.sees_all_branches:
            return None
        if self.branch_id is None:
            return []
        cached = getattr(self, "_branch_scope_cache", None)
        if cached is None:
            cached = Branch.subtree_ids_of(self.branch_id)
            self._branch_scope_cache = cached
        return cached
