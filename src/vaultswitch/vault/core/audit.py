"""Audit log: the rows service calls write, and recording/listing events for callers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from vaultswitch.vault.core import crypto, rawsql
from vaultswitch.vault.core.base import ServiceCore
from vaultswitch.vault.core.log_refs import LOG_REF_KEY_NAME, LogRefs
from vaultswitch.vault.core.models import AuditContext, AuditEvent
from vaultswitch.vault.core.store import as_utc, audit_log


def audit_params(
    ctx: AuditContext,
    at: datetime,
    vault_id: str | None,
    action: str,
    alias: str | None,
    outcome: str = "success",
    detail: str | None = None,
) -> tuple[Any, ...]:
    """``rawsql.audit_params(audit_row(...))`` without the dict in between (batch path)."""
    return (
        rawsql.ts(at),
        ctx.actor[:255],
        vault_id,
        action,
        alias,
        outcome,
        ctx.source[:255] if ctx.source else None,
        ctx.trace_id[:128] if ctx.trace_id else None,
        detail,
    )


def audit_row(
    ctx: AuditContext,
    at: datetime,
    vault_id: str | None,
    action: str,
    alias: str | None,
    outcome: str = "success",
    detail: str | None = None,
) -> dict[str, Any]:
    """One audit_log row (as SQLAlchemy insert values) for a service call."""
    return {
        "at": at,
        "actor": ctx.actor[:255],
        "vault_id": vault_id,
        "action": action,
        "alias": alias,
        "outcome": outcome,
        "source": ctx.source[:255] if ctx.source else None,
        "trace_id": ctx.trace_id[:128] if ctx.trace_id else None,
        "detail": detail,
    }


class AuditMixin(ServiceCore):
    """Recording events on behalf of callers and listing the audit log."""

    def log_refs(self) -> LogRefs:
        """The keyed digests that stand for aliases and unknown ids in logs (see log_refs.py)."""
        return LogRefs(self.server_secret(LOG_REF_KEY_NAME, crypto.generate_key))

    def audit(self, event: AuditEvent) -> None:
        """Record an event (failures, token issue, admin actions) on behalf of a caller."""
        with self._tx() as conn:
            conn.execute(
                audit_log.insert().values(
                    at=event.at,
                    actor=event.actor[:255],
                    vault_id=event.vault_id,
                    action=event.action[:64],
                    alias=event.alias[:128] if event.alias else None,
                    outcome=event.outcome[:32],
                    source=event.source[:255] if event.source else None,
                    trace_id=event.trace_id[:128] if event.trace_id else None,
                    detail=event.detail,
                )
            )

    def list_audit(
        self, vault_id: str | None = None, action: str | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        """Newest first."""
        stmt = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(max(1, limit))
        if vault_id is not None:
            stmt = stmt.where(audit_log.c.vault_id == vault_id)
        if action is not None:
            stmt = stmt.where(audit_log.c.action == action)
        with self._tx() as conn:
            rows = conn.execute(stmt).all()
        result = []
        for r in rows:
            at = as_utc(r.at)
            assert at is not None
            result.append(
                AuditEvent(
                    id=int(r.id),
                    at=at,
                    actor=r.actor,
                    vault_id=r.vault_id,
                    action=r.action,
                    alias=r.alias,
                    outcome=r.outcome,
                    source=r.source,
                    trace_id=r.trace_id,
                    detail=r.detail,
                )
            )
        return result
