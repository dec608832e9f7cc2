"""Forms of the ledger screens: parse and validate input; services post."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounting.models import Account
from mfi.money import Currency
from users.selectors import branches_visible_to


class ManualEntryForm(forms.Form):
    entry_date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=None)
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices, initial="CVE")
    description = forms.CharField(label=_("Description"), max_length=250)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches_visible_to(user)
        self.fields["branch"].initial = user.branch_id
        self.fields["entry_date"].initial = timezone.localdate()
        self.helper = FormHelper()
        self.helper.form_tag = False


class EntryLineForm(forms.Form):
    account = forms.ModelChoiceField(
        label=_("Account"),
        required=False,
        queryset=Account.objects.filter(
            is_header=False, is_active=True, allows_manual_entries=True
        ).order_by("code"),
    )
    debit = forms.DecimalField(
        label=_("Debit"), required=False, min_value=0, max_digits=20, decimal_places=4
    )
    credit = forms.DecimalField(
        label=_("Credit"), required=False, min_value=0, max_digits=20, decimal_places=4
    )
    description = forms.CharField(label=_("Line note"), required=False, max_length=250)

    def clean(self):
        cleaned = super().clean()
        account, debit, credit = (
            cleaned.get("account"),
            cleaned.get("debit"),
            cleaned.get("credit"),
        )
        if account is None and not debit and not credit:
            return cleaned  # an empty row is ignored
        if account is None:
            raise forms.ValidationError(_("Choose the account of this line."))
        if bool(debit) == bool(credit):
            raise forms.ValidationError(_("Enter either a debit or a credit."))
        return cleaned

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return data.get("account") is None and not data.get("debit") and not data.get("credit")


EntryLineFormSet = forms.formset_factory(EntryLineForm, extra=4, max_num=30, validate_max=True)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)
    entry_date = forms.DateField(
        label=_("Date of the reversal"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class PeriodForm(forms.Form):
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=None)
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    month = forms.IntegerField(label=_("Month"), min_value=1, max_value=12, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches_visible_to(user)
