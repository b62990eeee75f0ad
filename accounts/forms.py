"""HTML forms for service principals, their secrets and personal access tokens.

Forms check the shape of input; the services in ``accounts.services`` check the rest and may
still refuse (``ValidationError``), which ``registry.forms.add_service_error`` puts back on
the form.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import MachineSecret, PersonalAccessToken, ServicePrincipalSecret
from accounts.services import SERVICE_PRINCIPAL_NAME_MESSAGE, SERVICE_PRINCIPAL_NAME_RE

ON_A_DATE = "date"


class ServicePrincipalForm(forms.Form):
    name = forms.RegexField(
        regex=SERVICE_PRINCIPAL_NAME_RE,
        max_length=64,
        error_messages={"invalid": SERVICE_PRINCIPAL_NAME_MESSAGE},
        help_text="What the CI system or cluster is, for example ci-deployer. "
        "The audit log names it sp:<name>.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ExpiryForm(forms.Form):
    """A lifetime picked from a few choices, or an expiry date, bounded by the secret's kind.

    ``cleaned_data["lifetime"]`` is the ``timedelta`` the service takes.
    """

    model: type[MachineSecret] = MachineSecret
    day_choices: tuple[int, ...] = ()
    default_days = 90

    expires_in = forms.ChoiceField(label="Expires in")
    expires_on = forms.DateField(
        label="Expiry date",
        required=False,
        help_text="Only with “On a date”: it stops working at 00:00 UTC that day.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(str(d), _days_label(d)) for d in self.day_choices]
        self.fields["expires_in"].choices = [*choices, (ON_A_DATE, "On a date…")]
        self.fields["expires_in"].initial = str(self.default_days)
        today = timezone.now().date()
        self.fields["expires_on"].widget = forms.DateInput(
            attrs={
                "type": "date",
                "min": (today + datetime.timedelta(days=1)).isoformat(),
                "max": (today + self.model.MAX_LIFETIME).isoformat(),
            }
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        choice = data.get("expires_in")
        if choice is None:
            return data
        if choice != ON_A_DATE:
            data["lifetime"] = datetime.timedelta(days=int(choice))
            return data
        day = data.get("expires_on")
        if day is None:
            if "expires_on" not in self.errors:
                self.add_error("expires_on", "Pick the date it should expire on.")
            return data
        today = timezone.now().date()
        last = today + self.model.MAX_LIFETIME
        if day <= today:
            self.add_error("expires_on", "Pick a date after today.")
        elif day > last:
            self.add_error("expires_on", f"Pick a date no later than {last:%d %b %Y}.")
        else:
            expires = datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
            data["lifetime"] = expires - timezone.now()
        return data


def _days_label(days: int) -> str:
    if days % 365 == 0:
        years = days // 365
        return f"{years} year{'s' if years > 1 else ''}"
    return f"{days} days"


class SecretCreateForm(ExpiryForm):
    model = ServicePrincipalSecret
    day_choices = (30, 90, 180, 365, 730)
    default_days = 365

    description = forms.CharField(
        required=False,
        max_length=100,
        help_text="Where it will be used, for example “GitHub Actions, repo web”.",
    )

    field_order = ["description", "expires_in", "expires_on"]


class TokenCreateForm(ExpiryForm):
    model = PersonalAccessToken
    day_choices = (7, 30, 90, 365)
    default_days = 90

    name = forms.CharField(
        max_length=100,
        help_text="What it is for, for example “laptop docker” or “release script”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    field_order = ["name", "expires_in", "expires_on"]
