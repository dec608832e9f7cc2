"""Forms of the front-line screens: the field follow-up (phone) and the service desk (tablet).

They parse input only; ``compliance.field`` and ``compliance.desk`` validate the rules and save.
"""

from __future__ import annotations

import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from compliance.choices import (
    DeskReason,
    FollowUpKind,
    FollowUpOutcome,
    HandOff,
    RequirementKind,
    Severity,
)
from crm.selectors import parties_visible_to

_HIDDEN_TEXT = {"required": False, "widget": forms.HiddenInput}


class FollowUpForm(forms.Form):
    """A call or visit typed on a phone. ``client_uuid`` is replaced by the phone's own when the
    form opens (the rendered one only serves a browser without JavaScript); ``occurred_at`` is
    set by the phone when the agent taps Save, so a form sent later keeps its real time."""

    client_uuid = forms.UUIDField(widget=forms.HiddenInput)
    occurred_at = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(
        label=_("Call or visit"), choices=FollowUpKind.choices, widget=forms.RadioSelect
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=FollowUpOutcome.choices, widget=forms.RadioSelect
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    next_action_date = forms.DateField(
        label=_("Next action on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Creates a follow-up task for you."),
    )
    # Filled by the "Add my location" button; the service checks ranges and both-or-none.
    latitude = forms.CharField(**_HIDDEN_TEXT)
    longitude = forms.CharField(**_HIDDEN_TEXT)
    accuracy_m = forms.CharField(**_HIDDEN_TEXT)
    photo = forms.FileField(
        label=_("Photo of a document"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client_uuid"].initial = uuid.uuid4()
        self.fields["next_action_date"].widget.attrs["min"] = timezone.localdate().isoformat()


class CheckInForm(forms.Form):
    """A walk-in at the desk: a client found by NIF, civil ID or phone, or a new visitor."""

    party = forms.ModelChoiceField(
        label=_("Client"), queryset=None, required=False, widget=forms.RadioSelect
    )
    visitor_name = forms.CharField(label=_("New visitor's name"), max_length=160, required=False)
    visitor_phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    reason = forms.ChoiceField(label=_("Reason of the visit"), choices=DeskReason.choices)
    notes = forms.CharField(label=_("Notes"), max_length=500, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = parties_visible_to(user)
        self.fields["visitor_phone"].widget.attrs.update(
            {"inputmode": "tel", "autocomplete": "off"}
        )
        self.fields["visitor_name"].widget.attrs["autocomplete"] = "off"


class FinishForm(forms.Form):
    """End of a desk service: notes and what, if anything, the visit is handed off to."""

    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    hand_off = forms.ChoiceField(
        label=_("Hand off to"),
        choices=HandOff.choices,
        initial=HandOff.NONE,
        widget=forms.RadioSelect,
    )
    case_kind = forms.ChoiceField(
        label=_("Compliance issue"),
        choices=[("", "---------"), *RequirementKind.choices],
        required=False,
    )
    severity = forms.ChoiceField(
        label=_("Severity"), choices=Severity.choices, initial=Severity.MEDIUM, required=False
    )
    task_title = forms.CharField(label=_("Task"), max_length=160, required=False)
    task_due = forms.DateField(
        label=_("Task due on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    appointment_at = forms.DateTimeField(
        label=_("Appointment on"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate().isoformat()
        self.fields["task_due"].widget.attrs["min"] = today
        self.fields["appointment_at"].widget.attrs["min"] = f"{today}T00:00"

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "notes": data.get("notes") or "",
            "hand_off": data["hand_off"],
            "case_kind": data.get("case_kind") or None,
            "severity": data.get("severity") or None,
            "task_title": data.get("task_title") or "",
            "task_due": data.get("task_due"),
            "appointment_at": data.get("appointment_at"),
        }
