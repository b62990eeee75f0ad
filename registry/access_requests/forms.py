"""HTML forms of access requests: asking, approving (maybe for fewer days), denying, extending.

Forms check the shape of input; the services decide (and may still refuse).
"""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import ServicePrincipal, User
from registry.access_requests import policy
from registry.models import RoleDefinition

PERMANENT = "permanent"
ME = "me"


def _days_label(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


def duration_choices(*, longest: int | None = None, permanent: bool = False) -> list[tuple]:
    limit = policy.max_days() if longest is None else longest
    choices = [(str(d), _days_label(d)) for d in policy.DURATION_CHOICES if d <= limit]
    if longest is not None and all(str(longest) != value for value, _ in choices):
        choices.append((str(longest), _days_label(longest)))
    if permanent:
        choices.append((PERMANENT, "Permanent (where the namespace allows it)"))
    return choices


def days_or_permanent(value: str) -> int | None:
    return None if value == PERMANENT else int(value)


class AccessRequestForm(forms.Form):
    role = forms.ModelChoiceField(
        queryset=RoleDefinition.objects.all(),
        to_field_name="name",
        empty_label=None,
        help_text="Ask for the smallest role that lets you do what you need.",
    )
    scope = forms.CharField(
        max_length=600,
        help_text="Where: /registries/{registry}, /registries/{registry}/namespaces/{namespace} "
        "or /registries/{registry}/repositories/{repository}.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "list": "scope-suggestions"}
        ),
    )
    principal = forms.ChoiceField(
        label="For", help_text="Yourself, or a service principal you own."
    )
    justification = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you need it; the team leads read this.",
    )
    duration = forms.TypedChoiceField(
        coerce=days_or_permanent,
        help_text="The grant ends then; you are reminded before and can ask to extend.",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owned = {
            str(sp.pk): sp
            for sp in ServicePrincipal.objects.filter(owner=user, enabled=True).order_by("name")
        }
        self.fields["principal"].choices = [(ME, f"Me ({user.get_username()})")] + [
            (pk, f"Service principal {sp.name}") for pk, sp in self.owned.items()
        ]
        self.fields["duration"].choices = duration_choices(permanent=True)
        self.fields["duration"].initial = str(policy.default_days())

    def principal_for(self, user: User) -> User | ServicePrincipal:
        chosen = self.cleaned_data["principal"]
        return user if chosen == ME else self.owned[chosen]


class ApproveForm(forms.Form):
    duration = forms.TypedChoiceField(
        label="Grant for",
        coerce=days_or_permanent,
        help_text="You may grant fewer days than asked for.",
    )

    def __init__(self, *args: Any, requested_days: int | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requested_days = requested_days
        self.fields["duration"].choices = duration_choices(
            longest=requested_days, permanent=requested_days is None
        )
        self.fields["duration"].initial = (
            PERMANENT if requested_days is None else str(requested_days)
        )


class DenyForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The requester reads this.",
    )


class ExtendForm(forms.Form):
    duration = forms.TypedChoiceField(
        label="Extend by", coerce=int, help_text="Counted from the grant's current expiry."
    )
    justification = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you still need it.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["duration"].choices = duration_choices()
        self.fields["duration"].initial = str(policy.default_days())
