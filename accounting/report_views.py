"""Financial reports (trial balance, general ledger, journal, balance sheet, income statement)
as HTML, CSV and PDF. Being written: see the accounting issue."""

from django.http import Http404

from mfi.permissions import capability_required
from users.roles import Capability


@capability_required(Capability.LEDGER_VIEW)
def report(request, name: str):
    raise Http404
