"""HTML forms of the registry domain.

Forms check the shape of input; services check everything else and may still refuse
(``ValidationError``, ``ActionRefused``), which ``add_service_error`` puts back on the form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import RegexValidator

from registry.models import Registry, Tier
from registry.models.registries import validate_login_server
from registry.validation import (
    REPOSITORY_NAME_MAX_LENGTH,
    REPOSITORY_NAME_RE,
    validate_registry_name,
)

# The repository grammar, worded for the people who name namespaces.
validate_namespace_name = RegexValidator(
    REPOSITORY_NAME_RE,
    "Use lowercase letters and digits, with single '.', '_' or '-' between them, and '/' "
    "between levels (for example team-a or team-a/backend).",
    code="invalid_namespace_name",
)


def add_service_error(form: forms.Form, error: ValidationError | Exception) -> None:
    """Show what a service refused on the form: on its field when the form has one."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field if field in form.fields else None
            if field == NON_FIELD_ERRORS:
                target = None
            form.add_error(target, errors)
    elif isinstance(error, ValidationError):
        form.add_error(None, error)
    else:
        form.add_error(None, str(error))


class RegistryEditForm(forms.Form):
    login_server = forms.CharField(
        label="Login server",
        max_length=255,
        validators=[validate_login_server],
        help_text="The registry's base URL, for example https://registry.example.com.",
        widget=forms.URLInput(attrs={"placeholder": "https://registry.example.com"}),
    )
    service = forms.CharField(
        max_length=255,
        required=False,
        help_text="The service name the registry puts in token requests. "
        "Leave empty to use the login server's host.",
    )
    tier = forms.ChoiceField(choices=Tier.choices, initial=Tier.STANDARD)
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )

    def clean_login_server(self) -> str:
        return self.cleaned_data["login_server"].strip().rstrip("/")


class RegistryCreateForm(RegistryEditForm):
    name = forms.CharField(
        max_length=50,
        validators=[validate_registry_name],
        help_text="5 to 50 letters and digits. It cannot be changed later.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    field_order = ["name", "login_server", "service", "tier", "description"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if Registry.objects.filter(name__iexact=name).exists():
            raise ValidationError("A registry with this name already exists.", code="unique")
        return name


class NamespaceEditForm(forms.Form):
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    owners = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        help_text="Owners lead the namespace. Hold Ctrl (⌘ on a Mac) to choose several.",
    )
    approvals_required = forms.TypedChoiceField(
        label="Approvals for access requests",
        choices=[(1, "One team lead"), (2, "Two team leads")],
        coerce=int,
        required=False,
        empty_value=None,
        help_text="How many team leads must approve an access request here.",
    )
    permanent_grants_allowed = forms.BooleanField(
        label="Allow permanent grants",
        required=False,
        help_text="Access requests here may ask for a grant that never expires.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owners"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )


class NamespaceCreateForm(NamespaceEditForm):
    name = forms.CharField(
        max_length=REPOSITORY_NAME_MAX_LENGTH,
        validators=[validate_namespace_name],
        help_text="A repository name prefix such as team-a or team-a/backend.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    field_order = ["name", "description", "owners"]

    def __init__(self, *args: Any, registry: Registry, **kwargs: Any) -> None:
        self.registry = registry
        super().__init__(*args, **kwargs)
        # Each form on a page needs its own ids (the registry page also lists namespaces).
        self.auto_id = "namespace_%s"

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if self.registry.namespaces.filter(name=name).exists():
            raise ValidationError(
                "This registry already has a namespace with this name.", code="unique"
            )
        return name


class LocksForm(forms.Form):
    """ACR's four lock attributes of a repository or tag; an unticked box turns one off."""

    write_enabled = forms.BooleanField(required=False, label="Push (write)")
    delete_enabled = forms.BooleanField(required=False, label="Delete")
    read_enabled = forms.BooleanField(required=False, label="Pull (read)")
    list_enabled = forms.BooleanField(required=False, label="List")
