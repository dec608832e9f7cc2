"""Forms of the case and requirement screens: they parse input; ``compliance.cases`` decides."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils.translation import gettext_lazy as _

from compliance.cases import MAX_CHECK_EVERY_DAYS
from compliance.choices import CaseOutcome, RequirementKind, Severity, Solution
from compliance.models import OfferRequirement
from users.models import User

_DATE = {"type": "date"}
_WHOLE = {"inputmode": "numeric", "min": "0", "step": "1"}


def _helper(label) -> FormHelper:
    helper = FormHelper()
    helper.add_input(Submit("submit", label, css_class="w-100"))
    return helper


class RequirementForm(forms.Form):
    """A requirement of an offer. The kind is chosen once; the threshold means what the kind
    says (bank arrears: most days past due allowed; jobs kept: fewest employees)."""

    kind = forms.ChoiceField(label=_("Requirement"), choices=RequirementKind.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    check_every_days = forms.IntegerField(
        label=_("Check every (days)"),
        min_value=1,
        max_value=MAX_CHECK_EVERY_DAYS,
        initial=30,
        widget=forms.NumberInput(attrs=_WHOLE),
        help_text=_("For periodic reports: how often a new report is due."),
    )
    threshold = forms.DecimalField(
        label=_("Threshold"),
        required=False,
        max_digits=20,
        decimal_places=4,
        widget=forms.NumberInput(attrs=_WHOLE),
        help_text=_(
            "No bank arrears: most days past due allowed (empty: 30). Jobs kept: minimum number "
            "of employees (required). Other requirements: leave empty."
        ),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, requirement: OfferRequirement | None = None, **kwargs):
        if requirement is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "severity": requirement.severity,
                "check_every_days": requirement.check_every_days,
                "threshold": requirement.threshold,
                "is_active": requirement.is_active,
            }
        super().__init__(*args, **kwargs)
        if requirement is None:
            del self.fields["is_active"]
        else:
            del self.fields["kind"]
        self.helper = _helper(_("Save"))


class CaseAssignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none())

    def __init__(self, *args, candidates=None, **kwargs):
        super().__init__(*args, **kwargs)
        if candidates is not None:
            self.fields["owner"].queryset = candidates
        self.fields["owner"].label_from_instance = lambda user: (
            f"{user.display_name} ({user.get_role_display()})"
        )


class CaseSolutionForm(forms.Form):
    solution = forms.ChoiceField(label=_("Solution"), choices=Solution.choices)
    notes = forms.CharField(
        label=_("What was agreed"), required=False, widget=forms.Textarea({"rows": 3})
    )
    watch_until = forms.DateField(
        label=_("Watch until"),
        required=False,
        widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"),
        help_text=_("Required for a restructuring: the end of its watch period."),
    )


class CaseCloseForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("", "---------"), *CaseOutcome.choices]
    )
