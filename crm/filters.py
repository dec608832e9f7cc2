"""One FilterSet for the party list page and the parties API."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.choices import Island, PartyKind, Relationship
from crm.models import Party
from users.models import Branch


class PartyFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name, NIF or phone"), method="filter_text")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=PartyKind.choices)
    relationship = django_filters.ChoiceFilter(
        label=_("Relationship"), choices=Relationship.choices
    )
    island = django_filters.ChoiceFilter(label=_("Island"), choices=Island.choices)
    branch = django_filters.ModelChoiceFilter(label=_("Branch"), queryset=Branch.objects.all())
    assigned_to_me = django_filters.BooleanFilter(
        label=_("Assigned to me"), method="filter_assigned_to_me"
    )

    class Meta:
        model = Party
        fields = ["q", "kind", "relationship", "island", "branch", "assigned_to_me"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.request is not None and self.request.user.is_authenticated:
            from users.selectors import branches_visible_to

            self.filters["branch"].queryset = branches_visible_to(self.request.user)

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        digits = "".join(ch for ch in value if ch.isdigit())
        condition = Q(display_name__icontains=value)
        if len(digits) >= 6:
            condition |= (
                Q(nif=digits) | Q(phone__endswith=digits) | Q(social_security_number=digits)
            )
        return queryset.filter(condition)

    def filter_assigned_to_me(self, queryset, name, value):
        if value and self.request is not None:
            return queryset.filter(assigned_to=self.request.user)
        return queryset
