from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import PersonalAccessToken, SignInPolicy, User

# The admin's own login page would skip allauth (its TOTP step, the password sign-in policy,
# the session record that "sign out everywhere" uses): send it to the portal's sign-in.
admin.site.login = secure_admin_login(admin.site.login)


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    fieldsets = (
        *UserAdmin.fieldsets,
        (
            "Microsoft Entra ID",
            {
                "fields": ("entra_object_id", "entra_tenant_id", "groups_refreshed_at"),
                "description": (
                    "Set the object id to link this account to an Entra user before they "
                    "sign in (their roles then apply at their first sign-in with Microsoft)."
                ),
            },
        ),
    )
    readonly_fields = ("groups_refreshed_at",)
    list_display = (*UserAdmin.list_display, "entra_object_id")
    search_fields = (*UserAdmin.search_fields, "entra_object_id")


@admin.register(SignInPolicy)
class SignInPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return not SignInPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PersonalAccessToken)
class PersonalAccessTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "user",
        "hint",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = ["digest", "hint", "last_used_at"]
