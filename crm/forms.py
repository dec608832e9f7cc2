"""Forms for parties: they parse and validate input; services do the saving and the rules."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.choices import (
    ConsentPurpose,
    InteractionKind,
    InteractionOutcome,
    LeadSource,
    LeadStage,
    LinkKind,
)
from crm.identifiers import (
    normalise_civil_id,
    normalise_nif,
    normalise_phone,
    normalise_social_security_number,
)
from crm.models import PARTY_CONTACT_FIELDS, Enterprise, Person
from crm.timeline import interaction_loan_choices
from mfi.uploads import validate_upload
from users.selectors import branches_visible_to, staff_assignable_by

_IDENTIFIER_INPUT = {"max_length": 30, "required": False}


class _ScopedPartyForm(forms.ModelForm):
    """Limits branch and assignee to what the user may use; adds the submit button."""

    submit_label = _("Save")
    nif = forms.CharField(label=_("NIF (tax number)"), **_IDENTIFIER_INPUT)
    social_security_number = forms.CharField(
        label=_("Social security (INPS) number"), **_IDENTIFIER_INPUT
    )
    phone = forms.CharField(label=_("Phone"), **_IDENTIFIER_INPUT)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches_visible_to(user)
        self.fields["assigned_to"].queryset = staff_assignable_by(user)
        self.fields["assigned_to"].label_from_instance = lambda staff: staff.display_name
        if user.branch_id and not self.instance.pk:
            self.fields["branch"].initial = user.branch_id
        self.fields["phone"].widget.attrs.update({"inputmode": "tel", "autocomplete": "tel"})
        for field in ("nif", "social_security_number"):
            self.fields[field].widget.attrs["inputmode"] = "numeric"
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", self.submit_label))

    def _get_validation_exclusions(self):
        # Uniqueness of identifiers is checked by the service, which names the clashing field;
        # the model's conditional constraints would only give a form-wide message.
        return super()._get_validation_exclusions() | {"nif", "social_security_number", "civil_id"}

    # Identifiers are typed with spaces, dots or dashes; they are normalised before the model's
    # own length checks run.
    def clean_nif(self):
        return normalise_nif(self.cleaned_data.get("nif", ""))

    def clean_social_security_number(self):
        return normalise_social_security_number(self.cleaned_data.get("social_security_number", ""))

    def clean_phone(self):
        return normalise_phone(self.cleaned_data.get("phone", ""))


class PersonForm(_ScopedPartyForm):
    civil_id = forms.CharField(label=_("Civil ID number"), **_IDENTIFIER_INPUT)

    class Meta:
        model = Person
        fields = [
            "first_name",
            "last_name",
            "gender",
            "birth_date",
            "civil_id",
            *PARTY_CONTACT_FIELDS,
        ]
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"})}

    def clean_civil_id(self):
        return normalise_civil_id(self.cleaned_data.get("civil_id", ""))

    def clean_birth_date(self):
        birth_date = self.cleaned_data.get("birth_date")
        if birth_date and birth_date > timezone.localdate():
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        return birth_date


class EnterpriseForm(_ScopedPartyForm):
    class Meta:
        model = Enterprise
        fields = [
            "legal_name",
            "trade_name",
            "sector",
            "is_formal",
            "employees",
            *PARTY_CONTACT_FIELDS,
        ]


class PartyLinkForm(forms.Form):
    kind = forms.ChoiceField(label=_("Relation"), choices=LinkKind.choices)
    to_party = forms.IntegerField(
        label=_("Linked party number"),
        min_value=1,
        help_text=_("The number shown on the other party's page (#123)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Add link")))


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    given_on = forms.DateField(label=_("Given on"), widget=forms.DateInput(attrs={"type": "date"}))
    evidence = forms.FileField(label=_("Signed form (PDF, PNG or JPEG)"), required=False)
    notes = forms.CharField(label=_("Notes"), max_length=250, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["given_on"].initial = timezone.localdate()
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Record consent")))

    def clean_given_on(self):
        given_on = self.cleaned_data["given_on"]
        if given_on > timezone.localdate():
            raise forms.ValidationError(_("A consent cannot be dated in the future."))
        return given_on

    def clean_evidence(self):
        evidence = self.cleaned_data.get("evidence")
        if evidence:
            validate_upload(evidence)
        return evidence


class ConsentWithdrawForm(forms.Form):
    withdrawn_on = forms.DateField(
        label=_("Withdrawn on"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["withdrawn_on"].initial = timezone.localdate()


class InteractionForm(forms.Form):
    """The quick "add interaction" form: a kind button, a summary and, if a follow-up is needed,
    its date; everything else is optional and folded away on a phone."""

    kind = forms.ChoiceField(
        label=_("Kind"), choices=InteractionKind.choices, widget=forms.RadioSelect
    )
    summary = forms.CharField(label=_("Summary"), max_length=200)
    next_action_date = forms.DateField(
        label=_("Next action on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Creates a follow-up task."),
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=InteractionOutcome.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty for now."),
    )
    loan = forms.ModelChoiceField(label=_("Loan"), queryset=None, required=False)
    assignee = forms.ModelChoiceField(
        label=_("Follow-up by"),
        queryset=None,
        required=False,
        help_text=_("Leave empty to follow up yourself."),
    )
    next_action_title = forms.CharField(
        label=_("Next action"),
        max_length=200,
        required=False,
        help_text=_("What has to be done; leave empty for a follow-up of the summary."),
    )

    def __init__(self, *args, user, party, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["loan"].queryset = interaction_loan_choices(user=user, party=party)
        self.fields["loan"].label_from_instance = lambda loan: loan.number
        self.fields["assignee"].queryset = staff_assignable_by(user).order_by(
            "first_name", "last_name", "username"
        )
        self.fields["assignee"].label_from_instance = lambda staff: staff.display_name
        self.fields["summary"].widget.attrs.update(
            {"placeholder": _("What was said or done"), "autocomplete": "off"}
        )
        self.fields["next_action_date"].widget.attrs["min"] = timezone.localdate().isoformat()

    def clean_next_action_date(self):
        day = self.cleaned_data.get("next_action_date")
        if day and day < timezone.localdate():
            raise forms.ValidationError(_("The next action cannot be in the past."))
        return day


class TaskReassignForm(forms.Form):
    assigned_to = forms.ModelChoiceField(label=_("Give to"), queryset=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = staff_assignable_by(user).order_by(
            "first_name", "last_name", "username"
        )
        self.fields["assigned_to"].label_from_instance = lambda staff: staff.display_name


class LeadForm(forms.Form):
    """Enter a prospect in the pipeline."""

    source = forms.ChoiceField(label=_("Source"), choices=LeadSource.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Add to pipeline")))


class LeadMoveForm(forms.Form):
    to_stage = forms.ChoiceField(label=_("Move to"), choices=LeadStage.choices)
    lost_reason = forms.CharField(label=_("Reason lost"), max_length=250, required=False)


class SegmentForm(forms.Form):
    """Save the party-list filter (``query``, a query string) under a name."""

    name = forms.CharField(label=_("Name"), max_length=100)
    query = forms.CharField(label=_("Filter"), max_length=500, widget=forms.HiddenInput)
    is_shared = forms.BooleanField(label=_("Share with colleagues"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Save segment")))


class PartyMergeForm(forms.Form):
    keep = forms.IntegerField(widget=forms.HiddenInput)
    remove = forms.IntegerField(widget=forms.HiddenInput)
