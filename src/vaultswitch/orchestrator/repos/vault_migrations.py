"""Vault migrations and their items: which payment methods a migration covers, what each
phase (move, verify, delete the source) did with each, and which step is working on which.

A step claims up to 20 items of one phase (a token and a lease), works on them without a
transaction open, then records the outcomes. Claims only share the work out: a second
worker that takes over an item (after a resume released the claims, or a lease ran out)
repeats idempotent work — the vault gives an equal value its existing alias, and the switch
of a payment method is conditional on the vault it is in.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vaultswitch.orchestrator.crypto import Keyring
from vaultswitch.orchestrator.db import as_utc, utcnow
from vaultswitch.orchestrator.repos import payment_methods as pm_repo
from vaultswitch.orchestrator.schema import vault_migration_items as items
from vaultswitch.orchestrator.schema import vault_migrations as migrations
from vaultswitch.orchestrator.vaulting import VaultIds

# item statuses of the move
PENDING = "pending"
MOVED = "moved"
WOULD_MOVE = "would_move"
SKIPPED = "skipped"
FAILED = "failed"
MOVE_STATUSES = (PENDING, MOVED, WOULD_MOVE, SKIPPED, FAILED)
# verify statuses (NULL: not verified in this pass)
OK = "ok"
MISMATCH = "mismatch"
VERIFY_STATUSES = (OK, MISMATCH, FAILED, SKIPPED)
#: verify statuses after which delete-source may delete the source aliases
CLEARED_FOR_DELETE = (OK, SKIPPED)
# source statuses (NULL: the source aliases are still there)
DELETED = "deleted"
KEPT = "kept"
SOURCE_STATUSES = (DELETED, KEPT, FAILED)

#: How long a step's claim on its items holds if the step never records them (a crashed
#: server); a resume releases every claim at once.
CLAIM_LEASE = timedelta(minutes=5)


class Phase(StrEnum):
    MOVE = "move"
    VERIFY = "verify"
    DELETE_SOURCE = "delete_source"


@dataclass(frozen=True, slots=True)
class Migration:
    id: str
    merchant_id: str
    profile_id: str
    from_connector_id: str
    to_connector_id: str
    customer_id: str | None
    limit: int | None
    dry_run: bool
    token_mode: str
    source_deleted_at: datetime | None
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True, slots=True)
class Item:
    migration_id: str
    payment_method_id: str
    seq: int
    status: str
    reason: str | None
    message: str | None
    #: the aliases the payment method had in the source vault (set once moved)
    source_ids: VaultIds | None = field(repr=False)
    verify_status: str | None
    verify_reason: str | None
    source_status: str | None
    source_reason: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a phase did with one item: its status, reason code and message (no card data)."""

    payment_method_id: str
    status: str
    reason: str | None = None
    message: str | None = None
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class Counts:
    move: dict[str, int]
    verify: dict[str, int]
    source: dict[str, int]
    #: per phase, the items it still has to do
    todo: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.move.values())


def _aad(migration_id: str, pm_id: str) -> str:
    return f"vault_migration_item:{migration_id}:{pm_id}"


def _migration(row: Any) -> Migration:
    return Migration(
        id=row.id,
        merchant_id=row.merchant_id,
        profile_id=row.profile_id,
        from_connector_id=row.from_connector_id,
        to_connector_id=row.to_connector_id,
        customer_id=row.customer_id,
        limit=row.limit_count,
        dry_run=bool(row.dry_run),
        token_mode=row.token_mode,
        source_deleted_at=as_utc(row.source_deleted_at),
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        modified_at=as_utc(row.modified_at),  # type: ignore[arg-type]
    )


def _item(row: Any, keyring: Keyring) -> Item:
    source_ids = None
    if row.source_ids_sealed is not None:
        source_ids = VaultIds.from_json(
            keyring.open_json(
                bytes(row.source_ids_sealed), _aad(row.migration_id, row.payment_method_id)
            )
        )
    return Item(
        migration_id=row.migration_id,
        payment_method_id=row.payment_method_id,
        seq=row.seq,
        status=row.status,
        reason=row.reason,
        message=row.message,
        source_ids=source_ids,
        verify_status=row.verify_status,
        verify_reason=row.verify_reason,
        source_status=row.source_status,
        source_reason=row.source_reason,
    )


# --- migrations ----------------------------------------------------------------------------


def create(conn: Connection, values: Mapping[str, Any]) -> Migration:
    now = utcnow()
    conn.execute(migrations.insert().values(**values, created_at=now, modified_at=now))
    found = get(conn, values["merchant_id"], values["id"])
    assert found is not None
    return found


def get(conn: Connection, merchant_id: str, migration_id: str) -> Migration | None:
    row = conn.execute(
        sa.select(migrations).where(
            migrations.c.id == migration_id, migrations.c.merchant_id == merchant_id
        )
    ).first()
    return None if row is None else _migration(row)


def find_open(
    conn: Connection,
    merchant_id: str,
    from_connector_id: str,
    to_connector_id: str,
    customer_id: str | None,
) -> Migration | None:
    """The newest migration of these two vaults (and customer) that is not a dry run and not
    over yet: a run with the same accounts continues it."""
    query = sa.select(migrations).where(
        migrations.c.merchant_id == merchant_id,
        migrations.c.from_connector_id == from_connector_id,
        migrations.c.to_connector_id == to_connector_id,
        migrations.c.dry_run.is_(False),
        migrations.c.source_deleted_at.is_(None),
    )
    if customer_id is None:
        query = query.where(migrations.c.customer_id.is_(None))
    else:
        query = query.where(migrations.c.customer_id == customer_id)
    row = conn.execute(
        query.order_by(migrations.c.created_at.desc(), migrations.c.id.desc())
    ).first()
    return None if row is None else _migration(row)


def update(conn: Connection, migration_id: str, **values: Any) -> None:
    conn.execute(
        migrations.update()
        .where(migrations.c.id == migration_id)
        .values(**values, modified_at=utcnow())
    )


# --- items ---------------------------------------------------------------------------------


def add_items(conn: Connection, migration: Migration) -> int:
    """Add the payment methods now in the source vault that the migration does not cover
    yet (at most ``limit`` items in all); answers how many were added."""
    have = conn.execute(
        sa.select(sa.func.count(), sa.func.max(items.c.seq)).where(
            items.c.migration_id == migration.id
        )
    ).one()
    count, last = int(have[0]), have[1]
    room = None if migration.limit is None else max(0, migration.limit - count)
    if room == 0:
        return 0
    covered = sa.select(items.c.payment_method_id).where(items.c.migration_id == migration.id)
    found = pm_repo.ids_in_vault(
        conn,
        migration.merchant_id,
        migration.from_connector_id,
        customer_id=migration.customer_id,
        exclude=covered,
        limit=room,
    )
    start = 0 if last is None else int(last) + 1
    now = utcnow()
    rows = [
        {
            "migration_id": migration.id,
            "payment_method_id": pm_id,
            "merchant_id": migration.merchant_id,
            "seq": start + index,
            "status": PENDING,
            "modified_at": now,
        }
        for index, pm_id in enumerate(found)
    ]
    for chunk in range(0, len(rows), 500):
        conn.execute(items.insert(), rows[chunk : chunk + 500])
    return len(rows)


def _phase_filter(phase: Phase) -> sa.ColumnElement[bool]:
    if phase is Phase.MOVE:
        return items.c.status == PENDING
    if phase is Phase.VERIFY:
        return sa.and_(items.c.status == MOVED, items.c.verify_status.is_(None))
    # verified, or skipped by verify because the payment method is gone or moved on: its
    # source aliases are then nobody's
    return sa.and_(
        items.c.status == MOVED,
        items.c.verify_status.in_(CLEARED_FOR_DELETE),
        items.c.source_status.is_(None),
    )


def restart(conn: Connection, migration_id: str, phase: Phase) -> None:
    """Begin a new pass of ``phase``: release every claim, and put the items it failed on
    (for verify: every moved item) back to do."""
    conn.execute(
        items.update()
        .where(items.c.migration_id == migration_id, items.c.claim_token.is_not(None))
        .values(claim_token=None, claim_until=None)
    )
    where = items.c.migration_id == migration_id
    if phase is Phase.MOVE:
        conn.execute(
            items.update()
            .where(where, items.c.status == FAILED)
            .values(status=PENDING, reason=None, message=None, modified_at=utcnow())
        )
    elif phase is Phase.VERIFY:
        conn.execute(
            items.update()
            .where(where, items.c.status == MOVED, items.c.source_status.is_(None))
            .values(verify_status=None, verify_reason=None, modified_at=utcnow())
        )
    else:
        conn.execute(
            items.update()
            .where(where, items.c.source_status == FAILED)
            .values(source_status=None, source_reason=None, modified_at=utcnow())
        )


def claim(
    conn: Connection, keyring: Keyring, migration_id: str, phase: Phase, size: int
) -> tuple[str, list[Item]]:
    """Claim the next ``size`` unclaimed items of ``phase``: a token and the items."""
    now = utcnow()
    free = sa.or_(items.c.claim_until.is_(None), items.c.claim_until < now)
    todo = (
        sa.select(items.c.payment_method_id)
        .where(items.c.migration_id == migration_id, _phase_filter(phase), free)
        .order_by(items.c.seq)
        .limit(size)
    )
    wanted = [str(pm_id) for pm_id in conn.execute(todo).scalars()]
    token = secrets.token_hex(16)
    if not wanted:
        return token, []
    # the conditions again: on PostgreSQL a concurrent claim of the same rows waits for this
    # one and then finds them claimed
    conn.execute(
        items.update()
        .where(
            items.c.migration_id == migration_id,
            items.c.payment_method_id.in_(wanted),
            _phase_filter(phase),
            free,
        )
        .values(claim_token=token, claim_until=now + CLAIM_LEASE)
    )
    rows = conn.execute(
        sa.select(items)
        .where(
            items.c.migration_id == migration_id,
            items.c.payment_method_id.in_(wanted),
            items.c.claim_token == token,
        )
        .order_by(items.c.seq)
    )
    return token, [_item(row, keyring) for row in rows]


def release(conn: Connection, migration_id: str, token: str) -> None:
    """Give up the claim of ``token`` on whatever it did not record."""
    conn.execute(
        items.update()
        .where(items.c.migration_id == migration_id, items.c.claim_token == token)
        .values(claim_token=None, claim_until=None)
    )


def _where_claimed(migration_id: str, pm_id: str, token: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        items.c.migration_id == migration_id,
        items.c.payment_method_id == pm_id,
        items.c.claim_token == token,
    )


def record_move(
    conn: Connection,
    keyring: Keyring,
    migration_id: str,
    token: str,
    outcome: Outcome,
    source_ids: VaultIds | None = None,
) -> None:
    """The move's outcome for one item (with the source aliases once moved)."""
    values: dict[str, Any] = {
        "status": outcome.status,
        "reason": outcome.reason,
        "message": outcome.message,
        "claim_token": None,
        "claim_until": None,
        "modified_at": utcnow(),
    }
    if source_ids is not None:
        values["source_ids_sealed"] = keyring.seal_json(
            source_ids.to_json(), _aad(migration_id, outcome.payment_method_id)
        )
    conn.execute(
        items.update()
        .where(_where_claimed(migration_id, outcome.payment_method_id, token))
        .values(**values)
    )


def record_verify(conn: Connection, migration_id: str, token: str, outcome: Outcome) -> None:
    conn.execute(
        items.update()
        .where(_where_claimed(migration_id, outcome.payment_method_id, token))
        .values(
            verify_status=outcome.status,
            verify_reason=outcome.reason,
            claim_token=None,
            claim_until=None,
            modified_at=utcnow(),
        )
    )


def record_source(conn: Connection, migration_id: str, token: str, outcome: Outcome) -> None:
    conn.execute(
        items.update()
        .where(_where_claimed(migration_id, outcome.payment_method_id, token))
        .values(
            source_status=outcome.status,
            source_reason=outcome.reason,
            claim_token=None,
            claim_until=None,
            modified_at=utcnow(),
        )
    )


def has_work(conn: Connection, migration_id: str, phase: Phase) -> bool:
    """Whether items of ``phase`` remain to do (claimed or not)."""
    query = sa.select(items.c.payment_method_id).where(
        items.c.migration_id == migration_id, _phase_filter(phase)
    )
    return conn.execute(query.limit(1)).first() is not None


def counts(conn: Connection, migration_id: str) -> Counts:
    """Items per move status, per verify status (of moved items; ``pending`` = not verified)
    and per source status (``pending`` = source aliases still there)."""
    rows = conn.execute(
        sa.select(items.c.status, items.c.verify_status, items.c.source_status, sa.func.count())
        .where(items.c.migration_id == migration_id)
        .group_by(items.c.status, items.c.verify_status, items.c.source_status)
    ).all()
    move = dict.fromkeys(MOVE_STATUSES, 0)
    verify = dict.fromkeys((PENDING, *VERIFY_STATUSES), 0)
    source = dict.fromkeys((PENDING, *SOURCE_STATUSES), 0)
    todo = dict.fromkeys(Phase, 0)
    for status, verify_status, source_status, number in rows:
        move[status] = move.get(status, 0) + int(number)
        if status != MOVED:
            continue
        verify[verify_status or PENDING] += int(number)
        source[source_status or PENDING] += int(number)
        if verify_status is None:
            todo[Phase.VERIFY] += int(number)
        elif verify_status in CLEARED_FOR_DELETE and source_status is None:
            todo[Phase.DELETE_SOURCE] += int(number)
    todo[Phase.MOVE] = move[PENDING]
    return Counts(move, verify, source, {phase.value: n for phase, n in todo.items()})


def list_items(
    conn: Connection,
    keyring: Keyring,
    migration_id: str,
    *,
    offset: int,
    limit: int,
    statuses: Iterable[str] = (),
) -> tuple[int, list[Item]]:
    """A page of the migration's items in their order, and how many match in all."""
    where = [items.c.migration_id == migration_id]
    wanted = sorted(set(statuses))
    if wanted:
        where.append(items.c.status.in_(wanted))
    total = conn.execute(sa.select(sa.func.count()).select_from(items).where(*where)).scalar_one()
    rows = conn.execute(
        sa.select(items).where(*where).order_by(items.c.seq).offset(offset).limit(limit)
    )
    return int(total), [_item(row, keyring) for row in rows]
