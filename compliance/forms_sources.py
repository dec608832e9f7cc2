"""Forms of the sources screens: a file upload, a pull, and a reconciliation decision."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from mfi.uploads import validate_csv_upload

DEFAULT_UPLOAD_MAX_BYTES = 200 * 1024 * 1024


def upload_max_bytes() -> int:
    """Largest registry file accepted (``COMPLIANCE_UPLOAD_MAX_BYTES``, default 200 MB)."""
    return int(getattr(settings, "COMPLIANCE_UPLOAD_MAX_BYTES", DEFAULT_UPLOAD_MAX_BYTES))


def validate_registry_file(uploaded) -> None:
    """A CSV file of reasonable size whose content is text (sniffed, not taken from its name);
    its rows are checked one by one by the ingest."""
    validate_csv_upload(
        uploaded,
        max_bytes=upload_max_bytes(),
        message=_("Upload the registry's CSV file (a text file ending in .csv)."),
    )


class SourceFileForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file from the registry"),
        help_text=_("UTF-8, comma-separated, with the protocol's header row."),
        validators=[validate_registry_file],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True


class PullForm(forms.Form):
    as_of = forms.DateField(
        label=_("As of (the registry answers for the last month-end on or before it)"),
        help_text=_("Leave empty for the latest reporting month."),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class PartySearchForm(forms.Form):
    q = forms.CharField(label=_("Find the party (name, NIF, social security number)"), min_length=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.add_input(Submit("search", _("Search"), css_class="btn-secondary"))


class ResolveForm(forms.Form):
    """Match the record to a party (its id) or dismiss it."""

    MATCH, DISMISS = "match", "dismiss"
    decision = forms.ChoiceField(choices=[(MATCH, _("Match")), (DISMISS, _("Dismiss"))])
    party = forms.IntegerField(required=False, min_value=1)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == self.MATCH and not cleaned.get("party"):
            self.add_error("party", _("Choose the party this record belongs to."))
        return cleaned
