"""FilterSets shared by the compliance screens and API: the case worklist and the checks."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from compliance.choices import CaseStatus, CheckStatus, RequirementKind, Severity
from compliance.models import Case, ComplianceCheck
from compliance.selectors import CASE_WORKER_ROLES
from crm.choices import Island
from loans.models import Offer
from users.models import Branch, User
from users.selectors import branches_visible_to


class CaseFilter(django_filters.FilterSet):
    """The worklist's filters. Without a status, only open cases are listed."""

    branch = django_filters.ModelChoiceFilter(label=_("Branch"), queryset=Branch.objects.all())
    island = django_filters.ChoiceFilter(
        label=_("Island"), field_name="branch__island", choices=Island.choices
    )
    offer = django_filters.ModelChoiceFilter(
        label=_("Offer"),
        field_name="loan__product_version__product__offer",
        queryset=Offer.objects.order_by("name"),
    )
    kind = django_filters.ChoiceFilter(label=_("Issue"), choices=RequirementKind.choices)
    severity = django_filters.ChoiceFilter(label=_("Severity"), choices=Severity.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=CaseStatus.choices)
    owner = django_filters.ModelChoiceFilter(label=_("Owner"), queryset=User.objects.none())
    overdue = django_filters.BooleanFilter(
        label=_("Overdue"),
        method="filter_overdue",
        widget=forms.Select(choices=[("", "---------"), ("true", _("Yes")), ("false", _("No"))]),
    )

    class Meta:
        model = Case
        fields = ["branch", "island", "offer", "kind", "severity", "status", "owner", "overdue"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        owners = User.objects.filter(is_active=True, role__in=CASE_WORKER_ROLES).order_by(
            "first_name", "last_name", "username"
        )
        user = getattr(self.request, "user", None)
        if user is not None and user.is_authenticated:
            self.filters["branch"].queryset = branches_visible_to(user)
            scope = user.branch_scope_ids()
            if scope is not None:
                owners = owners.filter(Q(branch_id__in=scope) | Q(pk=user.pk))
        self.filters["owner"].queryset = owners

    def filter_overdue(self, queryset, name, value):
        late = Q(deadline__lt=timezone.localdate()) & ~Q(status=CaseStatus.CLOSED)
        return queryset.filter(late) if value else queryset.exclude(late)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.exclude(status=CaseStatus.CLOSED)
        return queryset


class CheckFilter(django_filters.FilterSet):
    """Checks of a loan or party, by result and issue; the latest ones unless ``latest=false``."""

    loan = django_filters.NumberFilter(label=_("Loan"), field_name="loan_id")
    party = django_filters.NumberFilter(label=_("Party"), field_name="party_id")
    status = django_filters.ChoiceFilter(label=_("Result"), choices=CheckStatus.choices)
    kind = django_filters.ChoiceFilter(
        label=_("Requirement"), field_name="requirement__kind", choices=RequirementKind.choices
    )
    latest = django_filters.BooleanFilter(
        label=_("Latest only"), method="filter_latest", help_text=_("Default: yes.")
    )

    class Meta:
        model = ComplianceCheck
        fields = ["loan", "party", "status", "kind", "latest"]

    def filter_latest(self, queryset, name, value):
        return queryset  # applied in filter_queryset, where "not given" means yes

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("latest") is not False:
            queryset = queryset.filter(is_latest=True)
        return queryset
