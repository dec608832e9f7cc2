"""View guards built on the role capability map."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from users.roles import Capability


def capability_required(capability: Capability):
    """Signed-in users whose role has the capability; everyone else gets 403 (or the login page)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not request.user.has_capability(capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class HasCapability(BasePermission):
    """DRF permission: reading needs ``read_capability``, writing ``write_capability``."""

    read_capability: Capability
    write_capability: Capability

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        needed = self.read_capability if request.method in SAFE_METHODS else self.write_capability
        return user.has_capability(needed)


def capability_permission(read: Capability, write: Capability) -> type[HasCapability]:
    return type(
        f"Has_{read.name}_{write.name}",
        (HasCapability,),
        {"read_capability": read, "write_capability": write},
    )
