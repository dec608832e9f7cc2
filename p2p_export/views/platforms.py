"""A platform's lookup lists (activities, themes, locations, languages) as cached from the
platform, and their mapping to our sectors and islands, so profiles are pre-filled from the
borrower's record."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mfi.permissions import capability_required
from p2p_export import services
from p2p_export.choices import LookupKind
from p2p_export.forms import LookupMapForm
from p2p_export.selectors import platform_get_for_user, platform_lookups
from p2p_export.views.common import form_action, run_action
from users.roles import Capability

MAPPED = {LookupKind.ACTIVITY: "sector", LookupKind.LOCATION: "island"}


@capability_required(Capability.P2P_VIEW)
def lookup_list(request, code: str):
    platform = platform_get_for_user(request.user, code)
    can_manage = request.user.has_capability(Capability.P2P_MANAGE)
    groups = []
    for kind, label in LookupKind.choices:
        rows = [
            (
                lookup,
                LookupMapForm(instance=lookup, prefix=f"l{lookup.pk}")
                if can_manage and kind in MAPPED
                else None,
            )
            for lookup in platform_lookups(platform, kind)
        ]
        if rows:
            groups.append((kind, label, MAPPED.get(kind, ""), rows))
    context = {"platform": platform, "groups": groups, "can_manage": can_manage}
    return render(request, "p2p_export/lookup_list.html", context)


@require_POST
@capability_required(Capability.P2P_MANAGE)
def lookups_refresh(request, code: str):
    platform = platform_get_for_user(request.user, code)
    return run_action(
        request,
        lambda: services.lookups_refresh(actor=request.user, platform=platform),
        _("The lists were fetched again from %(platform)s.") % {"platform": platform},
        reverse("p2p_export:lookup_list", args=[platform.code]),
    )


@require_POST
@capability_required(Capability.P2P_MANAGE)
def lookup_map(request, code: str, pk: int):
    platform = platform_get_for_user(request.user, code)
    lookup = platform.lookups.filter(pk=pk, kind__in=list(MAPPED)).first()
    if lookup is None:
        raise Http404
    back = reverse("p2p_export:lookup_list", args=[platform.code]) + f"#{lookup.kind}"
    form = LookupMapForm(request.POST, instance=lookup, prefix=f"l{lookup.pk}")
    return form_action(
        request,
        form,
        # The form keeps only the lookup's own field (sector or island).
        lambda data: services.lookup_map(actor=request.user, lookup=lookup, **data),
        _("“%(name)s” mapped.") % {"name": lookup.name},
        back,
    )


urlpatterns = [
    path("platforms/<slug:code>/lists/", lookup_list, name="lookup_list"),
    path("platforms/<slug:code>/lists/refresh/", lookups_refresh, name="lookups_refresh"),
    path("platforms/<slug:code>/lists/<int:pk>/", lookup_map, name="lookup_map"),
]
