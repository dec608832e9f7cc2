"""The role-aware main menu: one list, filtered by the capability map."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from users.roles import Capability


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    capability: Capability | None
    icon: str
    url_args: tuple = ()

    @property
    def url(self) -> str:
        return reverse(self.url_name, args=self.url_args)


MENU: list[NavItem] = [
    NavItem(_("Home"), "home", None, "house"),
    NavItem(_("My tasks"), "crm:task_list", Capability.PARTY_EDIT, "list-check"),
    NavItem(_("Parties"), "crm:party_list", Capability.PARTY_VIEW, "people"),
    NavItem(_("Leads"), "crm:lead_pipeline", Capability.PARTY_EDIT, "funnel"),
    NavItem(_("Loans"), "loans:portfolio", Capability.LOAN_VIEW, "cash-coin"),
    NavItem(_("Approvals"), "loans:approvals", Capability.LOAN_APPROVE, "check2-square"),
    NavItem(_("Offers"), "loans:catalogue", Capability.LOAN_PRODUCT_ADMIN, "collection"),
    NavItem(_("Compliance"), "compliance:worklist", Capability.COMPLIANCE_VIEW, "shield-check"),
    NavItem(_("My day"), "compliance:field_day", Capability.COMPLIANCE_FOLLOW_UP, "geo-alt"),
    NavItem(_("Service desk"), "compliance:desk", Capability.DESK, "ticket-perforated"),
    NavItem(_("P2P lending"), "p2p_export:dashboard", Capability.P2P_VIEW, "globe2"),
    NavItem(_("Coaching"), "coaching:dashboard", Capability.COACHING_VIEW, "person-video3"),
    NavItem(_("Learning"), "elearning:course_list", Capability.LEARNING_VIEW, "mortarboard"),
    NavItem(_("Accounting"), "accounting:overview", Capability.LEDGER_VIEW, "calculator"),
    NavItem(_("Audit trail"), "audit:search", Capability.AUDIT_SEARCH, "journal-text"),
    NavItem(_("System"), "system_status", Capability.USER_ADMIN, "gear"),
    NavItem(_("API"), "swagger-ui", Capability.API_DOCS, "code-slash"),
]


def menu_for(user) -> list[NavItem]:
    if not user.is_authenticated:
        return []
    return [
        item for item in MENU if item.capability is None or user.has_capability(item.capability)
    ]
