from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from users.models import Branch, User
from users.roles import Capability
from users.two_factor import two_factor_reset


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent", "island", "is_active"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "branch", "is_active"]
    list_filter = ["role", "branch", "is_active"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        ("MFI", {"fields": ["role", "branch", "phone", "preferred_language"]}),
    ]
    actions = ["reset_two_factor"]

    @admin.action(description=_("Reset two-factor authentication (lost phone)"))
    def reset_two_factor(self, request, queryset):
        if not request.user.has_capability(Capability.USER_ADMIN):
            self.message_user(
                request,
                _("Only an administrator may reset two-factor authentication."),
                messages.ERROR,
            )
            return
        for user in queryset:
            two_factor_reset(actor=request.user, user=user)
        count = queryset.count()
        self.message_user(
            request,
            ngettext(
                "Two-factor authentication reset for %(count)d user; they set it up again at "
                "their next sign-in.",
                "Two-factor authentication reset for %(count)d users; they set it up again at "
                "their next sign-in.",
                count,
            )
            % {"count": count},
        )
