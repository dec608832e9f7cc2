"""Forms of the P2P screens: parse and validate input only; the services decide."""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.models import LoanProduct
from mfi.uploads import validate_csv_upload
from p2p_export.choices import LookupKind, PublicationState
from p2p_export.models import (
    Platform,
    PlatformLookup,
    Profile,
    Publication,
    PublicationBorrower,
)
from p2p_export.selectors import EligibilityCriteria, platform_lookups
from p2p_export.services import LOOKUP_FIELDS, PROFILE_FIELDS
from users.selectors import branches_visible_to

DATE = forms.DateInput(attrs={"type": "date"})


class EligibilityForm(forms.Form):
    """The eligible-loans criteria (GET)."""

    platform = forms.ModelChoiceField(label=_("Platform"), queryset=Platform.objects.none())
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=None, required=False)
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=LoanProduct.objects.order_by("name"), required=False
    )
    max_days_past_due = forms.IntegerField(
        label=_("Max. days past due"), min_value=0, required=False
    )
    amount_min = forms.DecimalField(label=_("Amount from"), min_value=0, required=False)
    amount_max = forms.DecimalField(label=_("Amount up to"), min_value=0, required=False)

    def __init__(self, *args, user, platforms, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["platform"].queryset = platforms
        self.fields["branch"].queryset = branches_visible_to(user)

    def clean(self):
        data = super().clean()
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("The upper amount is below the lower one."))
        return data

    def criteria(self) -> EligibilityCriteria:
        data = self.cleaned_data
        return EligibilityCriteria(
            platform=data["platform"],
            branch_id=data["branch"].pk if data.get("branch") else None,
            product_id=data["product"].pk if data.get("product") else None,
            max_days_past_due=data.get("max_days_past_due"),
            amount_min=data.get("amount_min"),
            amount_max=data.get("amount_max"),
        )


class SelectLoansForm(forms.Form):
    """The loans ticked on the eligible list (POST)."""

    platform = forms.ModelChoiceField(queryset=Platform.objects.none())
    loans = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=True)

    def __init__(self, *args, platforms, loan_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["platform"].queryset = platforms
        self.fields["loans"].choices = [(pk, pk) for pk in loan_ids]
        self.fields["loans"].error_messages["required"] = _("Tick at least one loan.")


class PublicationFilterForm(forms.Form):
    platform = forms.ModelChoiceField(
        label=_("Platform"), queryset=Platform.objects.none(), required=False, to_field_name="code"
    )
    state = forms.ChoiceField(
        label=_("State"),
        choices=[("", _("Every state")), *PublicationState.choices],
        required=False,
    )
    has_error = forms.BooleanField(label=_("Errors to fix"), required=False)
    consent_gap = forms.BooleanField(label=_("Consent missing"), required=False)
    q = forms.CharField(label=_("Loan or first name"), required=False, max_length=80)

    def __init__(self, *args, platforms, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["platform"].queryset = platforms
        for name in ("platform", "state"):
            self.fields[name].widget.attrs["data-autosubmit"] = ""


class LookupChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: PlatformLookup) -> str:
        return obj.name


class ProfileForm(forms.ModelForm):
    """What staff edit on a profile; the lookup lists are the publication's platform's."""

    is_not_pictured = forms.BooleanField(
        label=_("Not pictured"),
        required=False,
        help_text=_("The borrower chose to be published without a photo."),
    )

    class Meta:
        model = Profile
        fields = list(PROFILE_FIELDS)
        field_classes = dict.fromkeys(LOOKUP_FIELDS, LookupChoiceField)
        widgets = {"story": forms.Textarea(attrs={"rows": 7})}

    def __init__(self, *args, publication: Publication, **kwargs):
        super().__init__(*args, **kwargs)
        platform = publication.platform
        self.fields["is_not_pictured"].initial = publication.is_not_pictured
        kinds = {
            "activity": LookupKind.ACTIVITY,
            "theme": LookupKind.THEME,
            "location": LookupKind.LOCATION,
        }
        for name, kind in kinds.items():
            choices = platform_lookups(platform, kind)
            self.fields[name].queryset = choices
            if not choices.exists():
                del self.fields[name]  # the platform has no such list: text fields are used
        languages = list(
            platform_lookups(platform, LookupKind.LOCALE).values_list("external_id", "name")
        )
        if languages:
            self.fields["description_language"] = forms.ChoiceField(
                label=_("Description language"),
                choices=[("", "---------"), *languages],
                required=False,
            )
        if publication.borrowers.count() < 2:
            del self.fields["group_name"]
        self.fields["story"].help_text = _(
            "In the third person, at least %(min)s characters; no last name, phone, e-mail or "
            "ID number."
        ) % {"min": platform.story_min_length}

    def service_data(self) -> dict:
        """The changed fields, as ``profile_update`` takes them."""
        data = {name: self.cleaned_data[name] for name in self.changed_data if name in self.fields}
        return data


class LookupMapForm(forms.ModelForm):
    """Our sector (activities) or island (locations) for one platform lookup entry."""

    class Meta:
        model = PlatformLookup
        fields = ["sector", "island"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        keep = "sector" if self.instance.kind == LookupKind.ACTIVITY else "island"
        for name in [name for name in self.fields if name != keep]:
            del self.fields[name]
        self.fields[keep].widget.attrs["data-autosubmit"] = ""


class BorrowerForm(forms.ModelForm):
    """A borrower's share of a group loan and whether they are pictured."""

    class Meta:
        model = PublicationBorrower
        fields = ["amount", "is_pictured"]


class PhotoForm(forms.Form):
    photo = forms.FileField(
        label=_("Photo"),
        help_text=_("JPEG or PNG. Location data and camera details are removed."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
    )
    person = forms.ModelChoiceField(
        label=_("Who is pictured"), queryset=None, required=False, empty_label=_("Main borrower")
    )

    def __init__(self, *args, persons, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = persons
        self.fields["person"].label_from_instance = lambda person: person.first_name


class WaiverForm(forms.Form):
    person = forms.ModelChoiceField(label=_("Signed by"), queryset=None)
    signed_on = forms.DateField(label=_("Signed on"), widget=DATE)
    scan = forms.FileField(label=_("Signed waiver (scan)"), help_text=_("PDF, PNG or JPEG."))

    def __init__(self, *args, persons, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = persons
        self.fields["person"].label_from_instance = lambda person: person.display_name
        self.fields["signed_on"].initial = timezone.localdate


class WaiverWithdrawForm(forms.Form):
    withdrawn_on = forms.DateField(label=_("Withdrawn on"), widget=DATE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["withdrawn_on"].initial = timezone.localdate


class ReasonForm(forms.Form):
    """Withdrawal or anonymisation of a profile: the reason is kept in the history."""

    reason = forms.CharField(label=_("Reason"), max_length=400)
    anonymise = forms.BooleanField(
        label=_("Also anonymise our copy (consent withdrawn)"), required=False
    )


class JournalForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("News"), widget=forms.Textarea(attrs={"rows": 6}))
    image = forms.FileField(
        label=_("Image"),
        required=False,
        help_text=_("Optional. Processed like a profile photo."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
    )


def _previous_month() -> tuple[int, int]:
    last = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    return last.year, last.month


class PeriodForm(forms.Form):
    """A platform and a month (reports, reconciliation, statement)."""

    platform = forms.ModelChoiceField(
        label=_("Platform"), queryset=Platform.objects.none(), to_field_name="code"
    )
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    month = forms.IntegerField(label=_("Month"), min_value=1, max_value=12)

    def __init__(self, *args, platforms, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["platform"].queryset = platforms
        year, month = _previous_month()
        self.fields["year"].initial = year
        self.fields["month"].initial = month
        if platforms.count() == 1:
            self.fields["platform"].initial = platforms.first().code

    @classmethod
    def from_query(cls, query, *, platforms) -> PeriodForm:
        """Bound to the query string, defaulting to the first platform and last month."""
        year, month = _previous_month()
        first = platforms.first()
        data = {
            "platform": query.get("platform") or (first.code if first else ""),
            "year": query.get("year") or year,
            "month": query.get("month") or month,
        }
        return cls(data, platforms=platforms)


class FundingForm(forms.Form):
    """Funds a platform paid for one loan it refinances."""

    publication = forms.ModelChoiceField(label=_("Loan"), queryset=Publication.objects.none())
    received_on = forms.DateField(label=_("Received on"), widget=DATE)
    reference = forms.CharField(label=_("Transfer reference"), max_length=80)
    amount = forms.DecimalField(
        label=_("Amount refinanced (loan currency)"), max_digits=20, decimal_places=4
    )
    received_currency = forms.CharField(
        label=_("Currency paid"),
        max_length=3,
        required=False,
        help_text=_("Only when the platform paid in another currency."),
    )
    received_amount = forms.DecimalField(
        label=_("Amount paid"), max_digits=20, decimal_places=4, required=False
    )
    exchange_rate = forms.DecimalField(
        label=_("Exchange rate"),
        max_digits=20,
        decimal_places=8,
        required=False,
        help_text=_("Loan-currency units per unit paid, as applied by the bank."),
    )

    def __init__(self, *args, publications, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["publication"].queryset = publications
        self.fields["publication"].label_from_instance = lambda p: (
            f"{p.loan.number} · {p.profile.first_name or '—'} · {p.loan.currency}"
        )
        self.fields["received_on"].initial = timezone.localdate

    def clean_received_currency(self) -> str:
        return self.cleaned_data["received_currency"].strip().upper()


class PlatformRepaymentForm(forms.Form):
    """Payment to the platform of what a finalised report says is owed."""

    paid_on = forms.DateField(label=_("Paid on"), widget=DATE)
    reference = forms.CharField(label=_("Transfer reference"), max_length=80, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].initial = timezone.localdate


class ReturnFileForm(forms.Form):
    # read and applied, never stored: size and content (UTF-8 text, not markup) checked here
    file = forms.FileField(label=_("Return file (CSV)"), validators=[validate_csv_upload])
