"""Group commit for SQLite: many service calls, one transaction, one commit.

SQLite has one writer, and every alias call writes (at least its audit row), so
running calls one transaction each in worker threads serialises them on the
write lock and pays a thread hop, a lock hand-off and a commit per request. The
:class:`GroupCommitter` instead collects the calls submitted while the event
loop is busy and runs them together on the loop thread:

- ``BEGIN IMMEDIATE`` once, then each call as its own ``SAVEPOINT`` (the service's
  unit of work, see ``VaultService.bound_to``): a call that fails rolls back only
  its own writes and gets its own error (a 4xx stays a 4xx);
- one ``COMMIT`` for the batch, and only then is each caller's future resolved:
  no response leaves before the commit that holds its writes and audit rows.

WAL checkpoints (copying committed pages into the database file, with fsync)
do not run on the loop either: the batch connection has automatic checkpoints
off, and every CHECKPOINT_EVERY batches a worker thread runs one while batches
go on, then a short second pass with batches paused (the loop keeps serving
requests; their calls queue up for the next batch) copies what was committed
meanwhile. The checkpoint thus completes and the next write starts the WAL file
over, so it stays bounded, as with SQLite's own automatic checkpoints.

Audit rows that create and reveal calls write are kept with their call and
inserted together just before the batch's COMMIT (see VaultService.bound_to).

The loop never waits for a lock: the batch connection has a busy timeout of 0 on
the loop, and when another connection (the admin CLI, another thread) holds the
write lock, the batch runs in a worker thread that waits for it instead.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection

from vaultswitch.vault.core.errors import ServiceUnavailable
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.core.store import SQLITE_BUSY_TIMEOUT_MS

log = structlog.get_logger(__name__)
T = TypeVar("T")

MAX_BATCH = 128
CHECKPOINT_EVERY = 64  # batches between two background WAL checkpoints

_Call = tuple[Callable[[], Any], "asyncio.Future[Any]"]
_Outcome = tuple[bool, Any]


class _Locked(Exception):
    """Internal: another connection holds the write lock."""


def _is_locked(exc: BaseException) -> bool:
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    return isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig)


class GroupCommitter:
    """Runs service calls for the event loop in batches, one SQLite commit per batch."""

    def __init__(self, service: VaultService, *, max_batch: int = MAX_BATCH) -> None:
        self._service = service
        self._max_batch = max_batch
        self._conn: Connection | None = None
        self._busy_timeout = -1
        self._pending: list[_Call] = []
        self._scheduled = False
        self._in_thread = False
        self._closed = False
        self._since_checkpoint = 0
        self._checkpointing = False
        self._checkpoint_pause = False
        self._checkpointer: Any = None  # a pooled DBAPI connection, for checkpoints
        self.batches = 0  # statistics, for tests and diagnostics
        self.calls = 0

    async def call(self, func: Callable[..., T], *args: Any) -> T:
        """Run func(*args) in the next batch; return its result once the batch is committed."""
        if self._closed:
            raise ServiceUnavailable("the vault server is shutting down; retry")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((partial(func, *args), future))
        if not self._scheduled and not self._paused:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def close(self) -> None:
        """Release the batch connection (pending calls fail with 503)."""
        if not self._closed and self.batches:
            log.info("vault.group_commit_closed", batches=self.batches, calls=self.calls)
        self._closed = True
        for _, future in self._pending:
            if not future.done():
                future.set_exception(ServiceUnavailable("the vault server is shutting down"))
        self._pending.clear()
        if self._conn is not None and not self._in_thread:
            self._conn.close()
            self._conn = None
        if self._checkpointer is not None and not self._checkpointing:
            self._checkpointer.close()
            self._checkpointer = None

    # --- batch execution ---------------------------------------------------------------

    @property
    def _paused(self) -> bool:
        """A batch waits for a lock in a thread, or a checkpoint finishes: queue, don't start."""
        return self._in_thread or self._checkpoint_pause

    def _flush(self) -> None:
        self._scheduled = False
        if self._paused or not self._pending:
            return
        batch = [c for c in self._pending[: self._max_batch] if not c[1].done()]
        del self._pending[: self._max_batch]
        if batch:
            try:
                outcomes = self._run_batch(batch, wait=False)
            except _Locked:
                self._in_thread = True
                asyncio.get_running_loop().create_task(self._run_in_thread(batch))
                return
            except Exception as exc:
                outcomes = [(False, exc)] * len(batch)
            self._resolve(batch, outcomes)
        self._maybe_checkpoint()
        self._reschedule()

    async def _run_in_thread(self, batch: list[_Call]) -> None:
        try:
            outcomes = await anyio.to_thread.run_sync(partial(self._run_batch, batch, wait=True))
        except Exception as exc:
            outcomes = [(False, exc)] * len(batch)
        finally:
            self._in_thread = False
        self._resolve(batch, outcomes)
        if self._closed and self._conn is not None:
            self._conn.close()
            self._conn = None
        self._reschedule()

    def _maybe_checkpoint(self) -> None:
        if self._since_checkpoint < CHECKPOINT_EVERY or self._checkpointing or self._closed:
            return
        self._since_checkpoint = 0
        self._checkpointing = True  # first pass: batches go on meanwhile
        self._start_checkpoint(final=False)

    def _start_checkpoint(self, *, final: bool) -> None:
        done = asyncio.get_running_loop().run_in_executor(None, self._checkpoint)
        done.add_done_callback(partial(self._checkpoint_done, final))

    def _checkpoint(self) -> None:
        if self._checkpointer is None:
            self._checkpointer = self._service.engine.raw_connection()
        self._checkpointer.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _checkpoint_done(self, final: bool, done: asyncio.Future[None]) -> None:
        exc = done.exception()
        if exc is not None:
            log.warning("vault.wal_checkpoint_failed", error=type(exc).__name__)
        elif not final and not self._closed:
            # Second pass, with batches paused: copy what was committed during the first
            # one (a few batches), so the WAL is fully checkpointed and the next write
            # starts it over instead of growing it.
            self._checkpoint_pause = True
            self._start_checkpoint(final=True)
            return
        self._checkpointing = False
        self._checkpoint_pause = False
        if self._closed and self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self._reschedule()

    def _reschedule(self) -> None:
        if self._pending and not self._scheduled and not self._closed and not self._paused:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _connection(self, wait: bool) -> Connection:
        if self._conn is None:
            self._conn = self._service.engine.connect()
            self._busy_timeout = -1
            raw = self._conn.connection.driver_connection
            assert isinstance(raw, sqlite3.Connection)
            raw.execute("PRAGMA wal_autocheckpoint=0")  # see _maybe_checkpoint
            raw.execute("PRAGMA cache_size=-65536")
        timeout = SQLITE_BUSY_TIMEOUT_MS if wait else 0
        if timeout != self._busy_timeout:
            # on the DBAPI connection: through SQLAlchemy it would open a transaction
            raw = self._conn.connection.driver_connection
            assert isinstance(raw, sqlite3.Connection)
            raw.execute(f"PRAGMA busy_timeout={timeout}")
            self._busy_timeout = timeout
        return self._conn

    def _run_batch(self, batch: list[_Call], *, wait: bool) -> list[_Outcome]:
        conn = self._connection(wait)
        try:
            tx = conn.begin()
        except sa.exc.OperationalError as exc:
            conn.rollback()
            if _is_locked(exc) and not wait:
                raise _Locked from None
            raise ServiceUnavailable("the vault database is busy or unreachable; retry") from None
        outcomes: list[_Outcome] = []
        try:
            with self._service.bound_to(conn):
                for func, _ in batch:
                    try:
                        outcomes.append((True, func()))
                    except Exception as exc:
                        outcomes.append((False, exc))
                # the successful calls' audit rows, in the same transaction as their writes
                self._service.write_batch_audit()
            tx.commit()
        except Exception as exc:
            self._service.forget_cached_vaults()
            log.warning("vault.group_commit_failed", error=type(exc).__name__, calls=len(batch))
            if tx.is_active:
                tx.rollback()
            failed = ServiceUnavailable("the vault database could not commit; retry")
            done = [(False, failed if ok else value) for ok, value in outcomes]
            return done + [(False, failed)] * (len(batch) - len(done))
        self.batches += 1
        self.calls += len(batch)
        self._since_checkpoint += 1
        return outcomes

    @staticmethod
    def _resolve(batch: list[_Call], outcomes: list[_Outcome]) -> None:
        for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
