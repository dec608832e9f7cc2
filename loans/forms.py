"""Forms for the loan screens: they parse and validate input; services do the changes and rules."""

from __future__ import annotations

import datetime
from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.selectors import parties_visible_to
from loans import services
from loans.choices import Channel, DocumentKind, LoanStatus
from loans.models import LoanProduct
from loans.selectors import products_available
from mfi.forms import apply_service_errors  # noqa: F401 - used by this app's views
from mfi.money import Currency
from mfi.uploads import validate_upload
from users.selectors import branches_visible_to

_DATE = {"type": "date"}
_AMOUNT = {"inputmode": "decimal", "step": "any", "min": "0"}
_WHOLE = {"inputmode": "numeric", "min": "1"}
_LARGE_INPUT = {"class": "form-control-lg"}
_LARGE_SELECT = {"class": "form-select-lg"}


def _date_input(**attrs) -> forms.DateInput:
    return forms.DateInput(attrs={**_DATE, **attrs}, format="%Y-%m-%d")


def _large_submit(label) -> Submit:
    return Submit("submit", label, css_class="btn-lg w-100")


def party_in_scope(user, raw):
    """The party with the number typed (or passed in the URL), if the user may see it."""
    text = str(raw or "").strip().lstrip("#")
    if not text.isdigit():
        return None
    return parties_visible_to(user).filter(pk=int(text)).first()


class SchedulePreviewForm(forms.Form):
    """The terms an application asks for, checked against the chosen product's current version.

    Rate and number of repayments may be left empty: the product's defaults apply.
    """

    product = forms.ModelChoiceField(label=_("Product"), queryset=LoanProduct.objects.none())
    principal = forms.DecimalField(
        label=_("Principal"),
        max_digits=20,
        decimal_places=4,
        widget=forms.NumberInput(attrs=_AMOUNT),
    )
    annual_interest_rate = forms.DecimalField(
        label=_("Interest rate (% per year)"),
        max_digits=9,
        decimal_places=4,
        min_value=0,
        required=False,
        widget=forms.NumberInput(attrs=_AMOUNT),
        help_text=_("Empty: the product's default rate."),
    )
    number_of_repayments = forms.IntegerField(
        label=_("Number of repayments"),
        min_value=1,
        max_value=1200,
        required=False,
        widget=forms.NumberInput(attrs=_WHOLE),
        help_text=_("Empty: the product's default."),
    )
    expected_disbursement_date = forms.DateField(
        label=_("Expected disbursement"), widget=_date_input()
    )
    first_repayment_date = forms.DateField(
        label=_("First repayment (optional)"), required=False, widget=_date_input()
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products_available()
        self.fields["product"].empty_label = _("Choose a product")
        self.fields["expected_disbursement_date"].initial = timezone.localdate()
        self.version = None

    def clean(self):
        cleaned = super().clean()
        product = cleaned.get("product")
        principal = cleaned.get("principal")
        if product is None:
            return cleaned
        self.version = version = product.current_version
        if (
            cleaned.get("annual_interest_rate") is None
            and "annual_interest_rate" not in self.errors
        ):
            cleaned["annual_interest_rate"] = version.rate_default
        if not cleaned.get("number_of_repayments") and "number_of_repayments" not in self.errors:
            cleaned["number_of_repayments"] = version.repayments_default
        rate = cleaned.get("annual_interest_rate")
        repayments = cleaned.get("number_of_repayments")
        if principal is not None and rate is not None and repayments is not None:
            try:
                # The same range check the submit service applies, so the preview and the
                # submission can never disagree.
                services.loan_terms_check(version, principal, rate, repayments)
            except ValidationError as exc:
                apply_service_errors(self, exc)
        disbursement = cleaned.get("expected_disbursement_date")
        first = cleaned.get("first_repayment_date")
        if disbursement and first and first <= disbursement:
            self.add_error(
                "first_repayment_date",
                _("The first repayment must fall after the expected disbursement."),
            )
        return cleaned


class LoanApplicationForm(SchedulePreviewForm):
    """A new application: the borrower (a party number in the user's scope), the terms, the
    purpose. The template lays the fields out around the live schedule preview (htmx)."""

    borrower = forms.ModelChoiceField(
        label=_("Borrower number"),
        queryset=None,
        widget=forms.NumberInput(attrs=_WHOLE),
        error_messages={"invalid_choice": _("No party with this number in your scope.")},
        help_text=_("The number shown on the party's page (#123)."),
    )
    purpose = forms.CharField(label=_("Purpose"), max_length=250)

    field_order = [
        "borrower",
        "product",
        "principal",
        "annual_interest_rate",
        "number_of_repayments",
        "expected_disbursement_date",
        "first_repayment_date",
        "purpose",
    ]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        parties = parties_visible_to(user)
        self.fields["borrower"].queryset = parties
        raw = self.data.get("borrower") if self.is_bound else self.initial.get("borrower")
        self.borrower_party = party_in_scope(user, raw)
        if self.borrower_party is not None:
            self.fields["borrower"].help_text = self.borrower_party.display_name


class DisbursementForm(forms.Form):
    disbursed_on = forms.DateField(label=_("Disbursement date"), widget=_date_input(**_LARGE_INPUT))
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=Channel.choices,
        widget=forms.Select(attrs=_LARGE_SELECT),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["disbursed_on"].initial = timezone.localdate()
        self.helper = FormHelper()
        self.helper.add_input(_large_submit(_("Disburse")))

    def clean_disbursed_on(self):
        day = self.cleaned_data["disbursed_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("A disbursement cannot be dated in the future."))
        return day


class RepaymentForm(forms.Form):
    """The fast repayment form of the field: few, large inputs."""

    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=20,
        decimal_places=4,
        min_value=0,
        widget=forms.NumberInput(attrs={**_AMOUNT, **_LARGE_INPUT, "autofocus": ""}),
    )
    value_date = forms.DateField(label=_("Value date"), widget=_date_input(**_LARGE_INPUT))
    channel = forms.ChoiceField(
        label=_("Channel"), choices=Channel.choices, widget=forms.Select(attrs=_LARGE_SELECT)
    )
    receipt_number = forms.CharField(
        label=_("Receipt number"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={**_LARGE_INPUT, "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["value_date"].initial = timezone.localdate()
        self.helper = FormHelper()
        self.helper.add_input(_large_submit(_("Record repayment")))

    def clean_value_date(self):
        day = self.cleaned_data["value_date"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("A repayment cannot be dated in the future."))
        return day

    def clean_receipt_number(self):
        return self.cleaned_data["receipt_number"].strip()


class WriteOffForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=250, widget=forms.Textarea({"rows": 3}))
    written_off_on = forms.DateField(label=_("Write-off date"), widget=_date_input())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["written_off_on"].initial = timezone.localdate()
        self.helper = FormHelper()
        self.helper.attrs = {"data-confirm": _("Write off this loan? This cannot be undone.")}
        self.helper.add_input(Submit("submit", _("Write off"), css_class="btn-danger btn-lg w-100"))

    def clean_written_off_on(self):
        day = self.cleaned_data["written_off_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("A write-off cannot be dated in the future."))
        return day


class ReasonForm(forms.Form):
    """Rejecting or withdrawing an application, reversing a repayment: a reason is required."""

    reason = forms.CharField(label=_("Reason"), max_length=250)


class LoanDocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=DocumentKind.choices)
    file = forms.FileField(
        label=_("File (PDF, PNG or JPEG)"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        validate_upload(uploaded)
        return uploaded


class PortfolioFilterForm(forms.Form):
    """The selects above the portfolio (the tabs are links)."""

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *LoanStatus.choices]
    )
    product = forms.ModelChoiceField(
        label=_("Product"), required=False, queryset=None, empty_label=_("All products")
    )
    branch = forms.ModelChoiceField(
        label=_("Branch"), required=False, queryset=None, empty_label=_("All branches")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = LoanProduct.objects.order_by("name")
        self.fields["branch"].queryset = branches_visible_to(user).order_by("name")
        for field in self.fields.values():
            field.widget.attrs.update({"data-autosubmit": "", "class": "form-select-sm"})


class GuarantorForm(forms.Form):
    party = forms.IntegerField(label=_("Guarantor (party number)"), min_value=1)
    amount = forms.DecimalField(
        label=_("Guaranteed amount"), min_value=Decimal("0.01"), max_digits=20, decimal_places=4
    )


class CollateralForm(forms.Form):
    description = forms.CharField(label=_("Description"), max_length=250)
    value = forms.DecimalField(
        label=_("Value"), min_value=Decimal("0.01"), max_digits=20, decimal_places=4
    )


class ProductVersionForm(forms.ModelForm):
    """New terms for a product: saved as a new version by ``product_version_create``."""

    class Meta:
        from loans.models import LoanProductVersion

        model = LoanProductVersion
        fields = [
            "currency",
            "principal_min",
            "principal_default",
            "principal_max",
            "rate_min",
            "rate_default",
            "rate_max",
            "repayments_min",
            "repayments_default",
            "repayments_max",
            "repayment_every",
            "repayment_frequency",
            "interest_method",
            "amortization",
            "interest_calculation",
            "schedule_engine",
            "days_in_year",
            "days_in_month",
            "grace_on_principal",
            "grace_on_interest_payment",
            "grace_on_interest_charged",
            "installment_multiple",
            "currency_multiple",
            "disbursement_fee_flat",
            "disbursement_fee_percent",
            "installment_fee",
            "penalty_percent",
            "penalty_tolerance_days",
            "arrears_tolerance",
            "posting_rule_set",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from crispy_forms.helper import FormHelper
        from crispy_forms.layout import Submit

        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Save as a new version")))


class ParDashboardForm(forms.Form):
    """The PAR dashboard's filters (GET): a branch in the user's scope, a currency, a day."""

    branch = forms.ModelChoiceField(
        label=_("Branch"),
        required=False,
        queryset=None,
        empty_label=_("All my branches"),
        error_messages={"invalid_choice": _("This branch is outside your scope.")},
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices, required=False)
    date = forms.DateField(
        label=_("As of"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches_visible_to(user).order_by("name")

    def clean_date(self):
        day = self.cleaned_data.get("date")
        if day is not None and not datetime.date(1900, 1, 1) <= day <= datetime.date(2999, 12, 31):
            raise ValidationError(_("Enter a real date."))
        return day
