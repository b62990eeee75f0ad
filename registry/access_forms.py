"""HTML forms of the access-control pages.

Forms check the shape of input; the services in ``registry.permissions.assignments`` check the
rest (the scope exists, the principal exists or may be invited, no duplicate) and their
refusals go back on the form with ``registry.forms.add_service_error``.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils import timezone

from registry.models import RoleDefinition
from registry.permissions.actions import ACTION_DESCRIPTIONS, ACTIONS
from registry.permissions.assignments import (
    ROLE_NAME_MESSAGE,
    ROLE_NAME_RE,
    parse_principal_reference,
)
from registry.permissions.scopes import Scope, parse_scope

MAX_SEARCH_LENGTH = 255


def _principal(value: str) -> tuple[str, str]:
    try:
        return parse_principal_reference(value)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict["principal"]) from exc


class RoleCreateForm(forms.Form):
    name = forms.CharField(
        max_length=64,
        validators=[RegexValidator(f"^{ROLE_NAME_RE.pattern}$", ROLE_NAME_MESSAGE)],
        help_text=ROLE_NAME_MESSAGE,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    actions = forms.MultipleChoiceField(
        choices=[(action, action) for action in ACTIONS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one action."},
    )

    @property
    def action_choices(self) -> list[dict[str, Any]]:
        """The checkboxes with their descriptions, for the template to lay out."""
        chosen = set(self["actions"].value() or [])
        return [
            {
                "value": action,
                "description": ACTION_DESCRIPTIONS[action],
                "checked": action in chosen,
            }
            for action in ACTIONS
        ]


class AssignmentForm(forms.Form):
    """Who gets which role where, until when and why; ``scopes`` are the choices offered."""

    principal = forms.CharField(
        max_length=300,
        error_messages={"required": "Find and pick who gets the role."},
    )
    role = forms.ModelChoiceField(
        queryset=RoleDefinition.objects.all(),
        to_field_name="name",
        # Nothing chosen until someone chooses: no role is given by default.
        empty_label="Choose a role…",
        error_messages={"required": "Choose a role."},
    )
    scope = forms.ChoiceField(label="Where")
    expires_on = forms.DateField(
        required=False,
        label="Expires after",
        help_text="The assignment is valid through this day (until 23:59 UTC). Empty: never.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    reason = forms.CharField(
        required=False,
        max_length=2000,
        help_text="Why this access is given: the audit log keeps it.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, scopes: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = scopes
        self.fields["role"].label_from_instance = lambda role: (
            f"{role.name} — {role.description}" if role.description else role.name
        )
        # The radios of the picker carry the principal; its errors belong there.
        self.auto_id = "assignment_%s"

    def clean_principal(self) -> tuple[str, str]:
        return _principal(self.cleaned_data["principal"])

    def clean_expires_on(self) -> datetime.date | None:
        day = self.cleaned_data["expires_on"]
        if day is not None and self.expires_at_for(day) <= timezone.now():
            raise ValidationError("This day is over: pick today or a later day.")
        return day

    @staticmethod
    def expires_at_for(day: datetime.date) -> datetime.datetime:
        """The last moment of ``day`` in UTC: an assignment is valid through the day it
        expires on, and the pages show it as that day, 23:59."""
        return datetime.datetime.combine(day, datetime.time.max, tzinfo=datetime.UTC)

    @property
    def expires_at(self) -> datetime.datetime | None:
        day = self.cleaned_data.get("expires_on")
        return self.expires_at_for(day) if day else None


class CheckAccessForm(forms.Form):
    principal = forms.CharField(required=False, max_length=300)
    action = forms.ChoiceField(
        choices=[(action, f"{action} — {ACTION_DESCRIPTIONS[action]}") for action in ACTIONS]
    )
    scope = forms.CharField(
        max_length=400,
        help_text="/, /registries/{registry}, …/namespaces/{namespace} or "
        "…/repositories/{repository}",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )

    def clean_principal(self) -> tuple[str, str] | None:
        value = self.cleaned_data["principal"].strip()
        return _principal(value) if value else None

    def clean_scope(self) -> Scope:
        try:
            return parse_scope(self.cleaned_data["scope"].strip())
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=255, label="Who")
    action = forms.CharField(
        required=False,
        max_length=100,
        label="What",
        help_text="e.g. roleAssignment.create, or roleAssignment.* for all of them",
    )
    scope = forms.CharField(required=False, max_length=600, label="Where")
    below = forms.BooleanField(required=False, label="and everything inside it")
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_scope(self) -> Scope | None:
        value = self.cleaned_data["scope"].strip()
        if not value:
            return None
        try:
            return parse_scope(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "Pick a day on or after the first one.")
        return data

    @staticmethod
    def start_of(day: datetime.date | None) -> datetime.datetime | None:
        """Midnight (UTC) at the start of ``day``."""
        if day is None:
            return None
        return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)

    @classmethod
    def end_of(cls, day: datetime.date | None) -> datetime.datetime | None:
        """Midnight (UTC) at the end of ``day``: "until" includes the day itself."""
        return cls.start_of(day + datetime.timedelta(days=1)) if day else None
