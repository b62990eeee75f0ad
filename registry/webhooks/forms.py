"""HTML forms for webhooks. Custom headers are rows of name and value (a formset); a stored
value is never put back in the page: its row says it is set, and an empty value keeps it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from registry.webhooks import validation

ACTION_LABELS = {
    "push": "Push: an image or index is pushed",
    "delete": "Delete: a manifest or tag is deleted",
    "pull": "Pull: a manifest is pulled",
    "quarantine": "Quarantine (ACR compatibility; never fires here)",
    "chart_push": "Chart push (ACR compatibility; never fires here)",
    "chart_delete": "Chart delete (ACR compatibility; never fires here)",
}


class WebhookForm(forms.Form):
    service_uri = forms.CharField(
        label="Service URI",
        max_length=validation.SERVICE_URI_MAX_LENGTH,
        validators=[validation.validate_service_uri],
        help_text="Where deliveries are posted. Addresses inside the portal's network are refused.",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/acr"}),
    )
    actions = forms.MultipleChoiceField(
        choices=[(action, ACTION_LABELS[action]) for action in validation.ACTIONS],
        widget=forms.CheckboxSelectMultiple,
        initial=["push"],
        error_messages={"required": "Choose at least one action."},
    )
    scope = forms.CharField(
        required=False,
        max_length=validation.SCOPE_MAX_LENGTH,
        validators=[validation.validate_scope],
        help_text="repository:tag, with * and ? as wildcards (team-a/*:v1.*). Empty: every "
        "repository and tag. A repository alone means repository:latest.",
        widget=forms.TextInput(attrs={"spellcheck": "false", "placeholder": "team-a/*:*"}),
    )
    is_enabled = forms.BooleanField(
        label="Enabled",
        required=False,
        initial=True,
        help_text="A disabled webhook gets no new deliveries; waiting ones go out when it is "
        "enabled again. Its log is kept.",
    )

    def clean_actions(self) -> list[str]:
        return validation.clean_actions(self.cleaned_data["actions"])


class WebhookCreateForm(WebhookForm):
    name = forms.CharField(
        max_length=50,
        validators=[validation.validate_name],
        help_text="5 to 50 letters and digits. It cannot be changed later.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    field_order = ["name", "service_uri", "actions", "scope", "is_enabled"]


class HeaderForm(forms.Form):
    name = forms.CharField(
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "Authorization"}
        ),
    )
    value = forms.CharField(
        required=False,
        max_length=validation.HEADER_VALUE_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
    )


class BaseHeaderFormSet(forms.BaseFormSet):
    """Rows of custom headers; ``stored`` names the headers that already have a value."""

    def __init__(self, *args: Any, stored: list[str] | None = None, **kwargs: Any) -> None:
        self.stored = {name.lower() for name in stored or []}
        super().__init__(*args, **kwargs)
        for form in self.forms:
            name = str(form.initial.get("name") or "")
            if name.lower() in self.stored:
                form.fields["value"].widget.attrs["placeholder"] = "set; leave empty to keep"
                form.is_stored = True
            else:
                form.fields["value"].widget.attrs["placeholder"] = "value"
                form.is_stored = False

    def headers(self) -> dict[str, str | None]:
        """Name → new value, or None to keep a stored value; deleted and empty rows left out."""
        chosen: dict[str, str | None] = {}
        for form in self.forms:
            data = form.cleaned_data if hasattr(form, "cleaned_data") else {}
            name = (data.get("name") or "").strip()
            if not name or data.get("DELETE"):
                continue
            value = data.get("value") or ""
            if not value and name.lower() in self.stored:
                chosen[name] = None
            else:
                chosen[name] = value
        return chosen

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        try:
            validation.clean_custom_headers(self.headers(), existing=self.stored, allow_keep=True)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


HeaderFormSet = forms.formset_factory(
    HeaderForm,
    formset=BaseHeaderFormSet,
    extra=2,
    can_delete=True,
    max_num=validation.MAX_CUSTOM_HEADERS,
    validate_max=True,
)


class RedeliverFailedForm(forms.Form):
    since = forms.DateTimeField(
        label="Failed since",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text="Times are UTC.",
    )
