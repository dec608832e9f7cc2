"""Forms of the coaching screens: they parse and validate input; ``coaching.services`` decides.

The session log form is the phone form: few, large inputs with defaults (today, now, 60 minutes,
in person, held), the notes and action items optional.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coaching.choices import CoachLanguage, EngagementStatus, SessionMode, SessionStatus
from coaching.matching import parse_skills
from coaching.models import Coach, CoachingProduct
from crm.choices import Island, Sector
from crm.selectors import parties_visible_to
from loans.models import Offer
from mfi.forms import apply_service_errors  # noqa: F401 - used by this app's views
from mfi.money import Currency
from users.models import User
from users.roles import Role

_DATE = {"type": "date"}
_TIME = {"type": "time", "step": "60"}
_LARGE_INPUT = {"class": "form-control-lg"}
_LARGE_SELECT = {"class": "form-select-lg"}
_AMOUNT = {"inputmode": "decimal", "step": "any", "min": "0"}
_WHOLE = {"inputmode": "numeric", "min": "1"}
ACTION_ITEM_ROWS = 3
LOGGABLE_STATUSES = [
    (SessionStatus.HELD, SessionStatus.HELD.label),
    (SessionStatus.NO_SHOW, SessionStatus.NO_SHOW.label),
    (SessionStatus.PLANNED, SessionStatus.PLANNED.label),
]


def _date_input(**attrs) -> forms.DateInput:
    return forms.DateInput(attrs={**_DATE, **attrs}, format="%Y-%m-%d")


def _now_to_the_quarter() -> datetime.time:
    """The local time now, rounded down to the quarter hour (so a held session is never
    "in the future")."""
    now = timezone.localtime()
    return now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0).time()


# --- products and coaches ----------------------------------------------------------------------


class CoachingProductForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea({"rows": 2})
    )
    package_hours = forms.DecimalField(
        label=_("Package hours"),
        max_digits=7,
        decimal_places=2,
        min_value=Decimal("0.25"),
        widget=forms.NumberInput(attrs=_AMOUNT),
    )
    price = forms.DecimalField(
        label=_("Price"),
        max_digits=20,
        decimal_places=4,
        min_value=0,
        widget=forms.NumberInput(attrs=_AMOUNT),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices, initial="CVE")
    subsidy_percent = forms.DecimalField(
        label=_("Subsidy (% of the price)"),
        max_digits=7,
        decimal_places=4,
        min_value=0,
        max_value=100,
        required=False,
        widget=forms.NumberInput(attrs=_AMOUNT),
        help_text=_("Share a programme pays; leave empty when the customer pays it all."),
    )
    vat_rate = forms.DecimalField(
        label=_("VAT rate (%)"),
        max_digits=7,
        decimal_places=4,
        min_value=0,
        max_value=100,
        required=False,
        widget=forms.NumberInput(attrs=_AMOUNT),
        help_text=_("VAT added to the invoices; leave empty when there is none."),
    )
    programme = forms.ModelChoiceField(
        label=_("Subsidising programme"), queryset=Offer.objects.none(), required=False
    )
    is_active = forms.BooleanField(label=_("On sale"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["programme"].queryset = Offer.objects.filter(is_active=True).order_by("name")
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Save"), css_class="btn-lg w-100"))

    def clean_subsidy_percent(self):
        value = self.cleaned_data["subsidy_percent"]
        return value if value is not None else Decimal(0)


class CoachForm(forms.Form):
    user = forms.ModelChoiceField(label=_("User (role coach)"), queryset=User.objects.none())
    is_volunteer = forms.BooleanField(label=_("Volunteer"), required=False)
    skills = forms.CharField(
        label=_("Skills"),
        required=False,
        max_length=500,
        help_text=_("Separated by commas, e.g. bookkeeping, marketing, pricing."),
    )
    sectors = forms.MultipleChoiceField(
        label=_("Sectors"),
        choices=Sector.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages"),
        choices=CoachLanguage.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    islands = forms.MultipleChoiceField(
        label=_("Islands"),
        choices=Island.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    capacity_hours_per_month = forms.DecimalField(
        label=_("Capacity (hours per month)"),
        max_digits=7,
        decimal_places=2,
        min_value=0,
        widget=forms.NumberInput(attrs=_AMOUNT),
    )
    accreditation_name = forms.CharField(label=_("Accreditation"), max_length=120, required=False)
    accreditation_expires_on = forms.DateField(
        label=_("Accreditation expires on"), required=False, widget=_date_input()
    )
    hourly_rate = forms.DecimalField(
        label=_("Hourly rate (CVE)"),
        max_digits=20,
        decimal_places=4,
        min_value=0,
        initial=Decimal(0),
        widget=forms.NumberInput(attrs=_AMOUNT),
        help_text=_("Values the volunteer hours."),
    )
    is_active = forms.BooleanField(label=_("Taking engagements"), required=False, initial=True)

    def __init__(self, *args, coach: Coach | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if coach is None:
            self.fields["user"].queryset = User.objects.filter(
                role=Role.COACH, is_active=True, coach_profile__isnull=True
            ).order_by("first_name", "last_name")
            del self.fields["is_active"]
        else:
            del self.fields["user"]
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Save"), css_class="btn-lg w-100"))

    def clean_skills(self):
        return parse_skills(self.cleaned_data["skills"])


def coach_form_initial(coach: Coach) -> dict:
    return {
        "is_volunteer": coach.is_volunteer,
        "skills": ", ".join(coach.skills),
        "sectors": coach.sectors,
        "languages": coach.languages,
        "islands": coach.islands,
        "capacity_hours_per_month": coach.capacity_hours_per_month,
        "accreditation_name": coach.accreditation_name,
        "accreditation_expires_on": coach.accreditation_expires_on,
        "hourly_rate": coach.hourly_rate,
        "is_active": coach.is_active,
    }


# --- requests and engagements -----------------------------------------------------------------


class EngagementRequestForm(forms.Form):
    """Who asks for coaching and what for; the ranked coaches are shown below the criteria and
    the person picks one. A sector or island left on "from the customer" comes from the party."""

    FROM_PARTY = "__party__"

    party = forms.ModelChoiceField(
        label=_("Customer number"),
        queryset=None,
        widget=forms.NumberInput(attrs=_WHOLE),
        error_messages={"invalid_choice": _("No party with this number in your scope.")},
        help_text=_("The number shown on the party's page (#123); clients and non-clients alike."),
    )
    product = forms.ModelChoiceField(label=_("Product"), queryset=CoachingProduct.objects.none())
    needs = forms.CharField(
        label=_("What the customer asks for"),
        required=False,
        widget=forms.Textarea({"rows": 2}),
    )
    skills = forms.CharField(
        label=_("Skills needed"),
        required=False,
        max_length=500,
        help_text=_("Separated by commas, e.g. bookkeeping, marketing."),
    )
    sector = forms.ChoiceField(label=_("Sector"), required=False)
    island = forms.ChoiceField(label=_("Island"), required=False)
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("Any language")), *CoachLanguage.choices],
    )
    coach = forms.ModelChoiceField(
        label=_("Coach"),
        queryset=Coach.objects.none(),
        required=False,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = parties_visible_to(user)
        self.fields["product"].queryset = CoachingProduct.objects.filter(is_active=True).order_by(
            "name"
        )
        self.fields["product"].empty_label = _("Choose a product")
        self.fields["sector"].choices = [
            (self.FROM_PARTY, _("The customer's sector")),
            ("", _("Any sector")),
            *Sector.choices,
        ]
        self.fields["island"].choices = [
            (self.FROM_PARTY, _("The customer's island")),
            ("", _("Any island")),
            *Island.choices,
        ]
        self.fields["sector"].initial = self.FROM_PARTY
        self.fields["island"].initial = self.FROM_PARTY
        self.fields["coach"].queryset = Coach.objects.filter(is_active=True).select_related("user")

    def clean_skills(self):
        return parse_skills(self.cleaned_data["skills"])

    def criterion(self, name: str) -> str | None:
        """The cleaned sector or island: None means "take it from the party"."""
        value = self.cleaned_data.get(name, "")
        return None if value == self.FROM_PARTY else value


class TransitionForm(forms.Form):
    status = forms.ChoiceField(choices=EngagementStatus.choices)
    on = forms.DateField(required=False, widget=_date_input())
    reason = forms.CharField(required=False, max_length=250)


class GoalForm(forms.Form):
    description = forms.CharField(label=_("Goal"), max_length=250)
    target_value = forms.DecimalField(
        label=_("Target value"),
        required=False,
        max_digits=20,
        decimal_places=4,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )
    target_unit = forms.CharField(label=_("Unit"), required=False, max_length=40)
    target_date = forms.DateField(label=_("Target date"), required=False, widget=_date_input())


class MilestoneForm(forms.Form):
    title = forms.CharField(label=_("Milestone"), max_length=200)
    due_on = forms.DateField(label=_("Due on"), required=False, widget=_date_input())


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        coerce=int,
        choices=[(number, str(number)) for number in range(5, 0, -1)],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea({"rows": 2})
    )


# --- sessions ----------------------------------------------------------------------------------


class SessionLogForm(forms.Form):
    """The phone form: a held session in one tap with the defaults, notes if there is time."""

    status = forms.ChoiceField(
        label=_("The session"),
        choices=LOGGABLE_STATUSES,
        initial=SessionStatus.HELD,
        widget=forms.RadioSelect,
    )
    date = forms.DateField(label=_("Date"), widget=_date_input(**_LARGE_INPUT))
    time = forms.TimeField(
        label=_("Time"), widget=forms.TimeInput(attrs={**_TIME, **_LARGE_INPUT}, format="%H:%M")
    )
    duration_minutes = forms.IntegerField(
        label=_("Minutes"),
        min_value=5,
        max_value=600,
        initial=60,
        widget=forms.NumberInput(attrs={**_WHOLE, **_LARGE_INPUT, "step": "5"}),
    )
    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=SessionMode.choices,
        initial=SessionMode.IN_PERSON,
        widget=forms.Select(attrs=_LARGE_SELECT),
    )
    situation = forms.CharField(
        label=_("Situation"), required=False, widget=forms.Textarea({"rows": 2})
    )
    advice = forms.CharField(
        label=_("Advice given"), required=False, widget=forms.Textarea({"rows": 2})
    )
    agreed_actions = forms.CharField(
        label=_("Agreed actions"), required=False, widget=forms.Textarea({"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate()
        self.fields["time"].initial = _now_to_the_quarter()
        for number in range(1, ACTION_ITEM_ROWS + 1):
            self.fields[f"action_{number}_text"] = forms.CharField(
                label=_("Action item %(number)s") % {"number": number},
                required=False,
                max_length=250,
            )
            self.fields[f"action_{number}_due"] = forms.DateField(
                label=_("Due on"), required=False, widget=_date_input()
            )

    def action_item_rows(self):
        return [
            (self[f"action_{number}_text"], self[f"action_{number}_due"])
            for number in range(1, ACTION_ITEM_ROWS + 1)
        ]

    def clean(self):
        cleaned = super().clean()
        day, time = cleaned.get("date"), cleaned.get("time")
        if day and time:
            cleaned["scheduled_at"] = timezone.make_aware(datetime.datetime.combine(day, time))
        cleaned["action_items"] = [
            (cleaned.get(f"action_{number}_text", ""), cleaned.get(f"action_{number}_due"))
            for number in range(1, ACTION_ITEM_ROWS + 1)
            if (cleaned.get(f"action_{number}_text") or "").strip()
        ]
        for number in range(1, ACTION_ITEM_ROWS + 1):
            if (
                cleaned.get(f"action_{number}_due")
                and not (cleaned.get(f"action_{number}_text") or "").strip()
            ):
                self.add_error(f"action_{number}_text", _("Say what is to be done by this date."))
        return cleaned


class SessionOutcomeForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (SessionStatus.HELD, SessionStatus.HELD.label),
            (SessionStatus.NO_SHOW, SessionStatus.NO_SHOW.label),
            (SessionStatus.CANCELLED, SessionStatus.CANCELLED.label),
        ]
    )


# --- billing -----------------------------------------------------------------------------------


class InvoiceIssueForm(forms.Form):
    issue_date = forms.DateField(label=_("Issue date"), widget=_date_input())


class PaymentForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), max_digits=20, decimal_places=2, min_value=0)
    date = forms.DateField(label=_("Date"), widget=_date_input())
    channel = forms.ChoiceField(label=_("Channel"), choices=())

    def __init__(self, *args, **kwargs):
        from coaching.choices import PaymentChannel

        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = PaymentChannel.choices


class InvoiceCancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=250)


class VolunteerHoursForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=_date_input())
    date_to = forms.DateField(label=_("To"), widget=_date_input())

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end of the period is before its start."))
        return cleaned


class ReferralRuleForm(forms.Form):
    """A branch's coaching referral rule: loans entering the bucket go to the coordinator."""

    branch = forms.ModelChoiceField(label=_("Branch"), queryset=None)
    bucket = forms.ChoiceField(label=_("Delinquency bucket"), choices=())
    coordinator = forms.ModelChoiceField(label=_("Coaching coordinator"), queryset=None)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, user, **kwargs):
        from coaching.services import delinquency_bucket_labels
        from users.models import Branch

        super().__init__(*args, **kwargs)
        branches = Branch.objects.order_by("name")
        scope = user.branch_scope_ids()
        if scope is not None:
            branches = branches.filter(pk__in=scope)
        self.fields["branch"].queryset = branches
        self.fields["bucket"].choices = [(label, label) for label in delinquency_bucket_labels()]
        self.fields["coordinator"].queryset = User.objects.filter(is_active=True).order_by(
            "first_name", "last_name", "username"
        )
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Save rule"), css_class="w-100"))
