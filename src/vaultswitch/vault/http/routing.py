"""Tenant routing: the vault id comes from the Host header or from a path prefix.

The rule lives in :mod:`vaultswitch.domain.tenants` (the inbound proxy addresses vaults the
same way); this module keeps the vault HTTP layer's names for it.
"""

from __future__ import annotations

from vaultswitch.domain.tenants import VAULT_ID_RE, Target, is_vault_id, resolve_tenant

__all__ = ["VAULT_ID_RE", "Target", "is_vault_id", "resolve_tenant"]
