"""The VGS connector form: its fields (labelled as Hyperswitch's control center labels
them), and how a posted form becomes the API's request body.

The three credentials are write-only: what was typed goes into the request body and
nowhere else; a form shown again (after an error, or to edit an account) has them empty.
The outbound proxy URL may carry credentials too, so it is never shown back either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from vaultswitch.connectors.vgs import DEFAULT_AUTH_BASE_URL, DEFAULT_VAULT_BASE_URLS
from vaultswitch.orchestrator.connector_kinds import KINDS
from vaultswitch.orchestrator.repos.connector_accounts import VAULT_PROCESSOR

from .auth import text

VGS = KINDS[(VAULT_PROCESSOR, "vgs")]
CREDENTIALS = tuple((f.name, f.label) for f in VGS.fields)
HELP = {
    "api_key": "The client ID of your VGS service account (Username in VGS's dashboard).",
    "key1": "The client secret of that service account (Password in VGS's dashboard).",
    "api_secret": "Your vault's ID from VGS's dashboard, such as tntxxxxxxxx.",
}
ENVIRONMENTS = (
    ("sandbox", "Sandbox", "VGS's sandbox hosts (test data only)."),
    ("live", "Live", "VGS's live hosts; sandbox vault IDs do not work there."),
    (
        "custom",
        "Custom URLs",
        "Another VGS-compatible vault, such as vaultswitch's own: give both URLs below.",
    ),
)
LIVE_VAULT_BASE_URL = DEFAULT_VAULT_BASE_URLS["live"]
URL_FIELDS = ("vault_base_url", "auth_base_url")

#: API error field → the form field it is shown at
_FIELD_OF = {
    "connector_account_details": "api_key",
    "connector_account_details.api_key": "api_key",
    "connector_account_details.key1": "key1",
    "connector_account_details.api_secret": "api_secret",
    "connector_account_details.auth_type": "api_key",
    "metadata.vault_base_url": "vault_base_url",
    "metadata.auth_base_url": "auth_base_url",
    "metadata.proxy_url": "proxy_url",
    "metadata.certificate": "certificate",
    "metadata": "vault_base_url",
    "profile_id": "profile_id",
    "connector_label": "label",
}


def form_field(api_field: str | None) -> str | None:
    """Where an API error about ``api_field`` is shown on the form."""
    if api_field is None:
        return None
    return _FIELD_OF.get(api_field) or _FIELD_OF.get(api_field.rsplit(".", 1)[0])


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str | None  # the form field, None for the form as a whole
    message: str
    hint: str = ""


def validation_error(exc: ValidationError) -> FieldError:
    """The first problem pydantic found in a body built from the form (never the value)."""
    first = exc.errors()[0]
    api_field = ".".join(str(part) for part in first.get("loc", ()))
    return FieldError(form_field(api_field), f"{api_field}: {first.get('msg', 'invalid')}")


def environment_of(metadata: dict[str, Any] | None) -> str:
    """Which environment a stored account's URLs are."""
    vault_url = (metadata or {}).get("vault_base_url")
    if not vault_url:
        return "sandbox"
    if str(vault_url).replace("{{vault_id}}", "{vault_id}") == LIVE_VAULT_BASE_URL:
        return "live"
    return "custom"


@dataclass(frozen=True, slots=True)
class VgsForm:
    """A posted VGS form. The credentials and the proxy URL are never rendered back."""

    label: str
    profile_id: str
    credentials: dict[str, str]  # only the fields that were typed
    environment: str
    vault_base_url: str
    auth_base_url: str
    proxy_url: str
    remove_proxy_url: bool
    certificate: str

    def __repr__(self) -> str:
        return f"VgsForm(environment={self.environment!r}, typed={sorted(self.credentials)})"

    @classmethod
    def parse(cls, form: FormData) -> VgsForm:
        environment = text(form, "environment")
        return cls(
            label=text(form, "label"),
            profile_id=text(form, "profile_id"),
            credentials={name: text(form, name) for name, _ in CREDENTIALS if text(form, name)},
            environment=environment if environment in dict(_env_names()) else "sandbox",
            vault_base_url=text(form, "vault_base_url"),
            auth_base_url=text(form, "auth_base_url"),
            proxy_url=text(form, "proxy_url"),
            remove_proxy_url=form.get("remove_proxy_url") == "yes",
            certificate=text(form, "certificate"),
        )

    def check(self) -> FieldError | None:
        """What the API cannot say in the form's terms: custom URLs need both URLs."""
        if self.environment == "custom":
            for name, label in (
                ("vault_base_url", "Vault base URL"),
                ("auth_base_url", "Auth base URL"),
            ):
                if not getattr(self, name):
                    return FieldError(
                        name,
                        f"{label} is required with Custom URLs",
                        "Give the vault's URL with {vault_id} where the vault ID goes, e.g. "
                        "http://127.0.0.1:8220/{vault_id}/, and the URL of its token endpoint, "
                        "e.g. http://127.0.0.1:8220/.",
                    )
        return None

    def details(self) -> dict[str, str]:
        """``connector_account_details``: the typed credentials (an update keeps the rest)."""
        return {"auth_type": VGS.auth_type, **self.credentials}

    def urls(self) -> dict[str, str | None]:
        if self.environment == "live":
            return {"vault_base_url": LIVE_VAULT_BASE_URL, "auth_base_url": DEFAULT_AUTH_BASE_URL}
        if self.environment == "custom":
            return {"vault_base_url": self.vault_base_url, "auth_base_url": self.auth_base_url}
        return {"vault_base_url": None, "auth_base_url": None}

    def new_metadata(self) -> dict[str, Any] | None:
        """``metadata`` of a new account."""
        metadata: dict[str, Any] = {k: v for k, v in self.urls().items() if v}
        if self.proxy_url:
            metadata["proxy_url"] = self.proxy_url
        if self.certificate:
            metadata["certificate"] = self.certificate
        return metadata or None

    def metadata_changes(self) -> dict[str, Any]:
        """``metadata`` of an update (merged into the stored one; ``None`` removes a key)."""
        changes: dict[str, Any] = dict(self.urls())
        if self.proxy_url:
            changes["proxy_url"] = self.proxy_url
        elif self.remove_proxy_url:
            changes["proxy_url"] = None
        changes["certificate"] = self.certificate or None
        return changes

    def shown(self) -> dict[str, Any]:
        """What the form shows again: everything but the credentials and the proxy URL."""
        return {
            "label": self.label,
            "profile_id": self.profile_id,
            "environment": self.environment,
            "vault_base_url": self.vault_base_url,
            "auth_base_url": self.auth_base_url,
            "certificate": self.certificate,
        }


def stored_values(
    account_label: str, profile_id: str, metadata: dict[str, Any] | None
) -> dict[str, Any]:
    """The edit form's values for a stored account (no credentials, no proxy URL)."""
    metadata = metadata or {}
    environment = environment_of(metadata)
    return {
        "label": account_label,
        "profile_id": profile_id,
        "environment": environment,
        "vault_base_url": metadata.get("vault_base_url", "") if environment == "custom" else "",
        "auth_base_url": metadata.get("auth_base_url", "") if environment == "custom" else "",
        "certificate": metadata.get("certificate") or "",
    }


def blank_values(profile_id: str) -> dict[str, Any]:
    return {
        "label": "",
        "profile_id": profile_id,
        "environment": "sandbox",
        "vault_base_url": "",
        "auth_base_url": "",
        "certificate": "",
    }


def _env_names() -> list[tuple[str, str]]:
    return [(name, label) for name, label, _ in ENVIRONMENTS]
