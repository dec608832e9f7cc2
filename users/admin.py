from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from users.models import Branch, User


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
