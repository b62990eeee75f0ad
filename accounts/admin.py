from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import PersonalAccessToken, User

admin.site.register(User, UserAdmin)


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
