from django.core.paginator import Paginator
from django.shortcuts import render

from audit.forms import AuditSearchForm
from audit.selectors import audit_search
from mfi.permissions import capability_required
from users.roles import Capability


@capability_required(Capability.AUDIT_SEARCH)
def search(request):
    form = AuditSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_search(
        user=request.user,
        action=filters.get("action", ""),
        actor_username=filters.get("actor", ""),
        text=filters.get("text", ""),
        request_id=filters.get("request_id", ""),
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "audit/search.html", {"form": form, "page": page, "query": query.urlencode()}
    )
