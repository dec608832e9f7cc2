"""The filter forms of the financial reports (GET): parse and validate dates, branch, currency.

A missing or empty value takes its default (today, 1 January of this year, CVE, every branch
in the user's scope), so a report opens with sensible figures and its export links can carry
the exact values it was built with (``query_params``).
"""

from __future__ import annotations

import datetime

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounting.models import Account
from mfi.money import DEFAULT_CURRENCY, Currency
from users.selectors import branches_visible_to

# Beyond these a date is a typing mistake, and date arithmetic near date.min would overflow.
EARLIEST_DATE = datetime.date(1900, 1, 1)
LATEST_DATE = datetime.date(2999, 12, 31)


def _date_field(label) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class ReportForm(forms.Form):
    """Common behaviour: defaults for empty values, the branch limited to the user's scope."""

    needs_input = False  # True when no default can produce a report (the ledger's account)
    date_fields: tuple[str, ...] = ()

    branch = forms.ModelChoiceField(
        label=_("Branch"),
        queryset=None,
        required=False,
        empty_label=_("All my branches"),
        error_messages={"invalid_choice": _("This branch is outside your scope.")},
    )

    def __init__(self, data=None, *, user, **kwargs):
        self.user = user
        if data is not None:
            data = {**self.defaults(), **{key: value for key, value in data.items() if value}}
        super().__init__(data, **kwargs)
        self.fields["branch"].queryset = branches_visible_to(user).order_by("name")
        if data is None:
            self.initial = self.defaults()

    def defaults(self) -> dict[str, str]:
        today = timezone.localdate()
        values = {
            "date": today,
            "date_from": today.replace(month=1, day=1),
            "date_to": today,
            "currency": DEFAULT_CURRENCY,
        }
        return {
            name: str(value) if isinstance(value, datetime.date) else value
            for name, value in values.items()
            if name in self.base_fields
        }

    def clean(self):
        cleaned = super().clean()
        for name in self.date_fields:
            value = cleaned.get(name)
            if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
                self.add_error(
                    name,
                    _("Enter a date between %(earliest)s and %(latest)s.")
                    % {"earliest": EARLIEST_DATE, "latest": LATEST_DATE},
                )
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("The end of the period is before its start."))
        return cleaned

    def query_params(self) -> dict[str, str]:
        """The validated filters as GET parameters (for the CSV and PDF links)."""
        params = {}
        for name, value in self.cleaned_data.items():
            if value in (None, ""):
                continue
            params[name] = str(value.pk) if hasattr(value, "pk") else str(value)
        return params


class AsOfForm(ReportForm):
    """Trial balance and balance sheet: the figures at the end of one day."""

    date_fields = ("date",)
    date = _date_field(_("As of"))
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    field_order = ["date", "branch", "currency"]


class PeriodForm(ReportForm):
    """Income statement: the movements of a period."""

    date_fields = ("date_from", "date_to")
    date_from = _date_field(_("From"))
    date_to = _date_field(_("To"))
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    field_order = ["date_from", "date_to", "branch", "currency"]


def _page_field() -> forms.IntegerField:
    """On screen the lines come a page at a time; exports carry them all."""
    return forms.IntegerField(
        min_value=1, max_value=1_000_000, required=False, widget=forms.HiddenInput
    )


class JournalForm(ReportForm):
    """Journal: every currency, so no currency filter."""

    date_fields = ("date_from", "date_to")
    date_from = _date_field(_("From"))
    date_to = _date_field(_("To"))
    page = _page_field()
    field_order = ["date_from", "date_to", "branch"]


class GeneralLedgerForm(PeriodForm):
    """General ledger: one detail account (header accounts take no postings)."""

    needs_input = True
    account = forms.ModelChoiceField(label=_("Account"), queryset=None)
    page = _page_field()
    field_order = ["account", "date_from", "date_to", "branch", "currency"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        accounts = Account.objects.filter(is_header=False).order_by("code")
        scope = user.branch_scope_ids()
        if scope is not None:  # another branch's cash box is not worth offering
            accounts = accounts.filter(Q(branch__isnull=True) | Q(branch_id__in=scope))
        self.fields["account"].queryset = accounts
