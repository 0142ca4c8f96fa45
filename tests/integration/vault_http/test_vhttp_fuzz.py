"""Property test: every route, every method, arbitrary bodies, headers and query strings.

A real vault server (uvicorn on loopback; on SQLite, and on PostgreSQL where NUL in a string
cannot even reach the database) gets requests drawn by hypothesis: v2 with
the tenant in the path or the Host header, v1, the OAuth token endpoint, certs, health and
unknown paths; valid credentials and broken ones; JSON that is well formed, almost right or
wrong (lone surrogates as escapes or raw bytes, NULs, huge and deeply nested values), raw
bytes, and query strings with `aliases=`, `q=` and `storage=`. For every answer:

- no 5xx;
- a 4xx has a JSON body in the endpoint's error shape: ``{"errors": [...], "trace_id"}``
  with the response status, or on the token endpoint OAuth's ``{"error",
  "error_description"}``;
- no submitted value or secret appears in an error body, and none in any log event
  (every such string carries SENTINEL, so one substring check finds any echo).

Derandomized, without an example database: the same examples on every run. Requests the
server's HTTP parser refuses itself (unknown methods, control bytes in headers) are not drawn:
the app never sees them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import string
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import structlog
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from structlog.testing import LogCapture
from vhttp_support import TOKEN_PATH, make_settings

from live_uvicorn import LiveServer
from vaultswitch.vault.core.formats import FORMATS
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.app import create_app

SENTINEL = "Zq9sentinel"  # in every submitted value and secret, never in anything else
CERTS_PATH = "/auth/realms/vgs/protocol/openid-connect/certs"
MAX_BODY = 64 * 1024
EXAMPLES = {"sqlite": 250, "postgresql": 150}  # per route group and database

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- the server and what it knows ------------------------------------------------------------


class World:
    """The server and what a caller can know of it (its repr shows none of the credentials;
    hypothesis prints it when an example fails)."""

    def __init__(
        self,
        *,
        url: str,
        client: httpx.Client,
        vault_id: str,
        other_vault_id: str,
        username: str,
        password: str,
        client_id: str,
        client_secret: str,
        tokens: dict[str, str],
        aliases: list[str],
        volatile: list[str],
        deletable: list[str],
        examples: int,
    ) -> None:
        self.examples = examples
        self.url = url
        self.client = client
        self.vault_id = vault_id
        self.other_vault_id = other_vault_id  # reveal disabled
        self.username = username
        self.password = password
        self.client_id = client_id
        self.client_secret = client_secret
        self.tokens = tokens  # kind -> a Bearer token
        self.aliases = aliases  # PERSISTENT aliases of vault_id that no request deletes
        self.volatile = volatile  # VOLATILE ones, likewise
        self.deletable = deletable  # aliases of vault_id that delete requests address
        self.logs = LogCapture()
        self.sent = 0

    def __repr__(self) -> str:
        return f"World({self.url}, vault {self.vault_id})"


@contextlib.contextmanager
def database(backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (SQLite in the data dir) or the URL of a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield None
        return
    import sqlalchemy as sa

    server_url: str = request.getfixturevalue("postgres_server_url")
    name = f"vs_fuzz_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server_url.rpartition('/')[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    backend: str = request.param
    with database(backend, request) as database_url:
        yield from serve(backend, database_url, tmp_path_factory)


def serve(
    backend: str, database_url: str | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    cfg = make_settings(
        tmp_path_factory.mktemp("fuzz"),
        database_url=database_url,
        max_body_bytes=MAX_BODY,
        rate_limit_per_minute=10**6,
    )
    service = VaultService.open(cfg)
    vault = service.create_vault("fuzz")
    other = service.create_vault("fuzz-other", reveal_enabled=False)
    full, full_secret = service.create_service_account([vault.vault_id, other.vault_id])
    reader, reader_secret = service.create_service_account([vault.vault_id], ["aliases:read"])
    elsewhere, elsewhere_secret = service.create_service_account([other.vault_id])
    gone, gone_secret = service.create_service_account([vault.vault_id])
    username, password = service.create_access_credentials(vault.vault_id)
    server = LiveServer(create_app(cfg, service)).start()
    client = httpx.Client(timeout=60)

    def token(client_id: str, secret: str) -> str:
        r = client.post(
            server.url + TOKEN_PATH,
            data={"grant_type": "client_credentials", "client_id": client_id,
                  "client_secret": secret},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    tokens = {
        "full": token(full.client_id, full_secret.reveal()),
        "reader": token(reader.client_id, reader_secret.reveal()),
        "elsewhere": token(elsewhere.client_id, elsewhere_secret.reveal()),
        "disabled": token(gone.client_id, gone_secret.reveal()),
    }
    service.set_service_account_disabled(gone.client_id, True)

    def seed(items: list[dict[str, str]]) -> list[str]:
        r = client.post(
            f"{server.url}/{vault.vault_id}/aliases",
            headers={"Authorization": f"Bearer {tokens['full']}"},
            json={"data": items},
        )
        assert r.status_code == 201, r.text
        return [rec["aliases"][0]["alias"] for rec in r.json()["data"]]

    aliases = seed(
        [{"value": "4111111111111111", "format": "FPE_SIX_T_FOUR"}]
        + [{"value": f"kept-{i}", "format": "UUID"} for i in range(19)]
    )
    volatile = seed([{"value": f"kept-v{i}", "format": "UUID", "storage": "VOLATILE"}
                     for i in range(8)])  # fmt: skip
    deletable = [a for n in range(4) for a in seed(
        [{"value": f"gone-{n}-{i}", "format": "RAW_UUID"} for i in range(20)]
    )]  # fmt: skip
    w = World(
        url=server.url,
        client=client,
        vault_id=vault.vault_id,
        other_vault_id=other.vault_id,
        username=username,
        password=password.reveal(),
        client_id=full.client_id,
        client_secret=full_secret.reveal(),
        tokens=tokens,
        aliases=aliases,
        volatile=volatile,
        deletable=deletable,
        examples=EXAMPLES[backend],
    )
    old = structlog.get_config()["processors"]
    structlog.configure(processors=[w.logs])  # every event, before any scrubbing
    try:
        yield w
    finally:
        structlog.configure(processors=old)
        client.close()
        server.stop()
        service.close()
    assert any(e.get("event") == "request" for e in w.logs.entries), "no log event captured"
    leaked = [e for e in w.logs.entries if SENTINEL in repr(e)]
    assert not leaked, f"a submitted value or secret was logged: {leaked[:3]}"


# --- building blocks -------------------------------------------------------------------------

CHARS = st.one_of(st.characters(), st.characters(categories=["Cs"]))  # incl. lone surrogates
NASTY = [
    "", " ", "\x00", "a\x00b", "\ud800", "\udfff", "x\udc80y", "\ufeff", "\u202e", "\ufffd",
    "%00", "%ED%A0%80", "../", "\r\n", "'", '"', "\\", "null", "[]", "{}", ",", ",,", "=",
    "&", "4111111111111111", "tok_sandbox_", "PERSISTENT", "VOLATILE", "UUID",
]  # fmt: skip
# Text with one of the characters that break naive code, somewhere inside.
TRICKY = st.builds(
    lambda a, c, b: a + c + b,
    st.text(max_size=8),
    st.sampled_from(["\ud800", "\x00", "\udc80", "\udbff", "\udfff", "\ufeff", "\u0301",
                     "\U0001f600", "\x7f", "\n", "%", "\\"]),
    st.text(max_size=8),
)  # fmt: skip
TEXT = st.one_of(
    st.text(CHARS, max_size=24),
    st.sampled_from(NASTY),
    TRICKY,
    TRICKY,
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "9", "\u00e9", "\U0001f600"]),
              st.integers(200, 70_000)),
)  # fmt: skip
# For URLs (paths, query strings): the same, at most a few thousand characters.
URL_TEXT = st.one_of(
    st.text(CHARS, max_size=24),
    st.sampled_from(NASTY),
    TRICKY,
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "\u00e9"]), st.integers(100, 2_000)),
)


# hypothesis leans to the first branch of a one_of: the tricky text comes first
SECRET_TEXT = st.one_of(TRICKY, TEXT)


# Half the submitted values and secrets carry one of these right after the marker.
BREAKERS = st.one_of(
    st.just(""), st.sampled_from(["\x00", "\ud800", "\udc80", "\ufeff", "\U0001f600"])
)


def secret(inner: st.SearchStrategy[str] = SECRET_TEXT) -> st.SearchStrategy[str]:
    """A value or secret as a client would submit it: marked, so that an echo is found."""
    return st.builds(
        lambda a, c, b: a[:3] + SENTINEL + c + b, st.text(CHARS, max_size=3), BREAKERS, inner
    )


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), TEXT)
JSON_ANY = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=10,
)
# Methods the server's HTTP parser (llhttp, through uvicorn's httptools) knows; it refuses any
# other token itself, with a plain-text 400, before the app sees the request.
METHODS = st.sampled_from([
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "COPY",
    "LOCK", "MKCOL", "MOVE", "SEARCH", "REPORT", "PURGE", "LINK", "QUERY", "SUBSCRIBE",
])  # fmt: skip
HEADER_BYTES = [9, *range(32, 127), *range(128, 256)]


_HEADER_SAFE = bytes(HEADER_BYTES)
_HEADER_UNSAFE = bytes(b for b in range(256) if b not in HEADER_BYTES)


def header_safe(value: bytes) -> bytes:
    """What an HTTP client can send as a header value: no controls, no edge whitespace."""
    return value.translate(None, _HEADER_UNSAFE).strip(b" \t")


def header_value() -> st.SearchStrategy[bytes]:
    return st.lists(st.sampled_from(HEADER_BYTES), max_size=40).map(
        lambda bs: header_safe(bytes(bs))
    )


CONTROLLED = {"host", "content-length", "transfer-encoding", "connection", "content-type",
              "authorization", "expect", "upgrade", "te", "trailer"}  # fmt: skip
EXTRA_HEADERS = st.dictionaries(
    st.text(string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=16).filter(
        lambda n: n not in CONTROLLED
    ),
    header_value(),
    max_size=3,
)
CONTENT_TYPES = st.one_of(
    st.sampled_from([
        "application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
        "application/json ;", "text/plain", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x", "",
    ]).map(str.encode),
    header_value(),
)  # fmt: skip


def pct(text: str, safe: str = "") -> str:
    """Percent-encode any str, lone surrogates included (as the bytes UTF-8 would give)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe=safe)


def basic(user: str, password: str) -> bytes:
    raw = f"{user}:{password}".encode("utf-8", "surrogatepass")
    return b"Basic " + base64.b64encode(raw)


def scheme(name: bytes, text: str) -> bytes:
    """An Authorization value of scheme `name` with `text` as it stands (not base64)."""
    return header_safe(name + b" " + text.encode("utf-8", "surrogatepass"))


@dataclass
class Req:
    method: str
    path: str
    query: str
    headers: dict[str, bytes]
    body: bytes
    oauth: bool = False  # the token endpoint: OAuth error shape


# --- requests per route group ----------------------------------------------------------------
# Each request starts as a valid one for some operation; a few of its parts (method, tenant,
# credentials, content type, path, query, body) are then replaced by something odd, and an
# odd body has odd fields inside. About half the requests stay valid, so the deep paths (a
# stored value, a reveal, an update) are explored, not only the first check that refuses.

PARTS = ("method", "tenant", "auth", "content_type", "path", "query", "body", "headers")


def mutations(parts: tuple[str, ...] = PARTS) -> st.SearchStrategy[frozenset[str]]:
    """Which parts of a request are odd: none (half the time), or one to three of them."""
    return st.one_of(
        st.just(frozenset()), st.frozensets(st.sampled_from(parts), min_size=1, max_size=3)
    )


class Pick:
    """Draws a part as valid, or as odd when that part is mutated."""

    def __init__(self, draw: st.DrawFn, mutate: frozenset[str]) -> None:
        self._draw = draw
        self.mutate = mutate

    def __call__(
        self, part: str, valid: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]
    ) -> Any:
        return self._draw(odd if part in self.mutate else valid)


def mostly(valid: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """valid about three times in four, else odd (for the fields of an odd body)."""
    return st.one_of(valid, valid, valid, odd)


def fields(odd: bool) -> Any:
    """`mostly` inside an odd body; the valid choice alone inside a valid one."""
    return mostly if odd else (lambda valid, _odd: valid)


def alias_like(w: World, text: st.SearchStrategy[str] = TEXT) -> st.SearchStrategy[str]:
    odd = st.one_of(
        text,
        st.sampled_from(["delete", "abc", "x" * 129, "tok_sandbox_none", *w.volatile]),
    )
    return mostly(st.sampled_from(w.aliases), odd)


def storage_like(text: st.SearchStrategy[str] = TEXT) -> st.SearchStrategy[Any]:
    return mostly(st.sampled_from(["PERSISTENT", "VOLATILE"]), st.one_of(text, JSON_ANY))


def classifiers_like(odd: bool) -> st.SearchStrategy[Any]:
    f = fields(odd)
    tags = f(st.sampled_from(["pan", "card.v1", "a:b/c-d_e"]), st.one_of(TEXT, JSON_SCALARS))
    return f(st.lists(tags, max_size=34 if odd else 3), JSON_ANY)


# (format, a value that fits it): any text for the UUID-like formats, digits for FPE
VALID_VALUES = st.one_of(
    st.tuples(st.sampled_from(["UUID", "RAW_UUID", "VGS_FIXED_LEN_GENERIC"]), secret()),
    st.tuples(st.sampled_from(["UUID", "RAW_UUID", "VGS_FIXED_LEN_GENERIC"]), secret()),
    st.tuples(st.just("FPE_SIX_T_FOUR"), st.sampled_from(["4111111111111111", "5555555555554444"])),
    st.tuples(st.just("NUM_LENGTH_PRESERVING"), st.integers(10**5, 10**30).map(str)),
)  # fmt: skip


def with_junk(obj: st.SearchStrategy[dict[str, Any]], odd: bool) -> st.SearchStrategy[Any]:
    """obj; in an odd body sometimes with an unknown key, or any JSON instead."""
    junk = st.dictionaries(TEXT, JSON_ANY, min_size=1, max_size=2)
    return fields(odd)(obj, st.one_of(st.builds(lambda a, b: {**b, **a}, obj, junk), JSON_ANY))


@st.composite
def create_item(draw: st.DrawFn, w: World, odd: bool) -> Any:
    f = fields(odd)
    item: dict[str, Any] = {}
    if draw(mostly(st.just(True), st.just(False))):
        fmt, value = draw(VALID_VALUES)
        item["value"] = draw(f(st.just(value), st.one_of(secret(), JSON_ANY)))
    else:  # a reference to an existing alias
        fmt = draw(st.sampled_from(["UUID", "RAW_UUID", "GENERIC_T_FOUR"]))
        item["alias"] = draw(f(st.sampled_from(w.aliases), alias_like(w)))
    odd_format = st.one_of(st.sampled_from(sorted(FORMATS)), TEXT, JSON_SCALARS)
    item["format"] = draw(f(st.just(fmt), odd_format))
    if draw(st.booleans()):
        item["storage"] = draw(f(st.sampled_from(["PERSISTENT", "VOLATILE"]), storage_like()))
    if "value" in item and draw(st.booleans()):
        item["classifiers"] = draw(classifiers_like(odd))
    dropped = st.lists(st.sampled_from(["value", "alias", "format"]), max_size=1)
    for key in draw(f(st.just([]), dropped)):
        item.pop(key, None)  # a required field left out
    return draw(with_junk(st.just(item), odd))


def create_body(w: World, odd: bool) -> st.SearchStrategy[Any]:
    items = st.lists(create_item(w, odd), min_size=1, max_size=4)
    many = st.lists(create_item(w, odd), max_size=22)
    return with_junk(st.fixed_dictionaries({"data": fields(odd)(items, many)}), odd)


def update_body(w: World, odd: bool) -> st.SearchStrategy[Any]:
    data = with_junk(st.fixed_dictionaries({"classifiers": classifiers_like(odd)}), odd)
    return with_junk(st.fixed_dictionaries({"data": data}), odd)


def delete_body(w: World, odd: bool) -> st.SearchStrategy[Any]:
    f = fields(odd)
    some = st.lists(st.sampled_from(w.deletable), min_size=1, max_size=3)
    data = f(some, st.one_of(st.lists(alias_like(w), max_size=22), JSON_ANY))
    storage = f(st.just("PERSISTENT"), storage_like())
    return with_junk(st.fixed_dictionaries({"data": data}, optional={"storage": storage}), odd)


def encode_json(obj: Any, raw: bool) -> bytes:
    if raw:  # lone surrogates as the bytes "surrogatepass" gives them (ED A0 80 ...)
        return json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return json.dumps(obj).encode()


def nested(depth: int, wrap: bool) -> bytes:
    inner = "[" * depth + "1" + "]" * depth
    if wrap:
        inner = '{"data":[{"value":' + inner + ',"format":"UUID"}]}'
    return inner.encode()


ODD_BODIES = st.one_of(
    st.binary(max_size=64),
    st.builds(nested, st.integers(50, 30_000), st.booleans()),
    st.just(b'{"data":[{"value":"' + b"9" * (MAX_BODY + 1) + b'","format":"UUID"}]}'),
    st.just(b""),
    st.builds(encode_json, JSON_ANY, st.booleans()),
)


def alias_list(w: World, pool: list[str] | None = None) -> st.SearchStrategy[str]:
    """The value of `aliases=` / `q=`: comma-separated, each alias percent-encoded."""
    return mostly(
        st.lists(st.sampled_from(pool or w.aliases), min_size=1, max_size=3),
        st.lists(alias_like(w, URL_TEXT), max_size=22),
    ).map(lambda xs: ",".join(pct(a) for a in xs))


def valid_query(w: World, storage: str, reveal_many: bool) -> st.SearchStrategy[str]:
    """`storage=` as the alias was created (PERSISTENT also by default), plus the alias list."""
    if storage == "VOLATILE":
        param = st.just("storage=VOLATILE")
        pool = w.volatile
    else:
        param = st.sampled_from(["", "storage=PERSISTENT"])
        pool = w.aliases
    if not reveal_many:
        return param
    key = st.sampled_from(["aliases", "q"])
    return st.builds(
        lambda k, v, p: f"{k}={v}" + (f"&{p}" if p else ""), key, alias_list(w, pool), param
    )


def odd_query(w: World) -> st.SearchStrategy[str]:
    pair = st.tuples(
        st.one_of(st.sampled_from(["aliases", "q", "storage"]), URL_TEXT.map(pct)),
        st.one_of(alias_list(w), storage_like(URL_TEXT).map(lambda v: pct(str(v)[:500])),
                  URL_TEXT.map(pct)),
    )  # fmt: skip
    junk = st.sampled_from(["", "&", "%", "%zz", "=", "aliases", "a=1=2", "&&storage="])
    return st.builds(
        lambda pairs, tail: "&".join(f"{k}={v}" for k, v in pairs) + tail,
        st.lists(pair, max_size=4),
        junk,
    )


def odd_tenant(w: World) -> st.SearchStrategy[tuple[str, bytes | None]]:
    """(path prefix, Host header): another or unknown vault, in the path, host, both or none."""
    ids = st.sampled_from([w.vault_id, w.other_vault_id, "tnt00000000", "tntAAAAAAAA"])
    return st.one_of(
        ids.map(lambda v: (f"/{v}", None)),
        ids.map(lambda v: ("", f"{v}.sandbox.vault-api.local".encode())),
        st.tuples(ids.map(lambda v: f"/{v}"), ids.map(lambda v: f"{v}.x".encode())),
        st.just(("", None)),
        header_value().map(lambda h: ("", h or None)),
    )


def odd_auth(w: World) -> st.SearchStrategy[bytes | None]:
    others = st.sampled_from(["reader", "elsewhere", "disabled"])
    return st.one_of(
        st.builds(basic, st.one_of(secret(), st.just(w.username)), secret()),
        others.map(lambda k: f"Bearer {w.tokens[k]}".encode()),
        secret().map(lambda s: scheme(b"Bearer", s)),
        secret().map(lambda s: scheme(b"Basic", s)),
        header_value(),
        st.none(),
    )


ODD_ROUTES = st.sampled_from(
    ["/aliases", "/aliases/delete", "/aliases/{alias}", "/aliases/", "/aliases/{alias}/x"]
)
# operation -> (method, route template, body builder or None)
OPERATIONS: dict[str, tuple[str, str, Any]] = {
    "create": ("POST", "/aliases", create_body),
    "reveal_many": ("GET", "/aliases", None),
    "reveal_one": ("GET", "/aliases/{alias}", None),
    "update": ("PUT", "/aliases/{alias}", update_body),
    "delete_one": ("DELETE", "/aliases/{alias}", None),
    "delete_many": ("POST", "/aliases/delete", delete_body),
}


@st.composite
def alias_requests(draw: st.DrawFn, w: World) -> Req:
    pick = Pick(draw, draw(mutations(("auth", "body", *PARTS))))
    op = draw(st.sampled_from(sorted(OPERATIONS)))
    method, route, body_of = OPERATIONS[op]
    v1 = draw(st.booleans())  # v1: Basic credentials, tenant optional; v2: Bearer + tenant
    if v1:
        valid_tenant = st.sampled_from([("", None), (f"/{w.vault_id}", None)])
        auth = pick("auth", st.just(basic(w.username, w.password)), odd_auth(w))
    else:
        valid_tenant = st.sampled_from(
            [(f"/{w.vault_id}", None), ("", f"{w.vault_id}.sandbox.vault-api.local".encode())]
        )
        auth = pick("auth", st.just(f"Bearer {w.tokens['full']}".encode()), odd_auth(w))
    prefix, host = pick("tenant", valid_tenant, odd_tenant(w))
    storage = "PERSISTENT" if op == "delete_one" else draw(mostly(st.just("PERSISTENT"),
                                                                  st.just("VOLATILE")))  # fmt: skip
    pool = {"PERSISTENT": w.aliases, "VOLATILE": w.volatile}[storage]
    if op == "delete_one":
        pool = w.deletable
    odd_segment = st.one_of(
        alias_like(w, URL_TEXT).map(pct), URL_TEXT.map(lambda t: pct(t, safe="/")), st.just("")
    )
    segment = pick("path", st.sampled_from(pool), odd_segment)
    route = pick("path", st.just(route), ODD_ROUTES).replace("{alias}", segment)
    headers: dict[str, bytes] = pick("headers", st.just({}), EXTRA_HEADERS)
    if auth is not None:
        headers["authorization"] = auth
    if host is not None:
        headers["host"] = host
    json_type = b"application/json" if body_of is not None else None
    content_type = pick("content_type", st.just(json_type), st.one_of(CONTENT_TYPES, st.none()))
    if content_type is not None:
        headers["content-type"] = content_type
    if body_of is None:
        body = pick("body", st.just(b""), ODD_BODIES)
    else:
        raw = st.booleans()
        odd_body = st.one_of(st.builds(encode_json, body_of(w, True), raw), ODD_BODIES)
        body = pick("body", st.builds(encode_json, body_of(w, False), raw), odd_body)
    return Req(
        method=pick("method", st.just(method), METHODS),
        path=prefix + route,
        query=pick("query", valid_query(w, storage, op == "reveal_many"), odd_query(w)),
        headers=headers,
        body=body,
    )


@st.composite
def token_requests(draw: st.DrawFn, w: World) -> Req:
    # "auth": the client credentials are someone else's or garbage (mostly that);
    # "authorization": a garbage Authorization header besides
    pick = Pick(draw, draw(mutations(("auth", "auth", "auth", "authorization", *PARTS))))
    prefix = pick("tenant", st.just(""), st.sampled_from([f"/{w.vault_id}", "/tnt00000000"]))
    odd = "body" in pick.mutate
    f = fields(odd)
    creds = st.one_of if "auth" in pick.mutate else (lambda valid, _odd: valid)
    form: dict[str, str] = {
        "grant_type": draw(f(st.just("client_credentials"), TEXT)),
        "client_id": draw(creds(st.just(w.client_id), secret())),
        "client_secret": draw(creds(st.just(w.client_secret), secret())),
    }
    if draw(st.booleans()):
        scopes = st.sampled_from(["aliases:read", "aliases:read aliases:write", "aliases:delete"])
        form["scope"] = draw(f(scopes, TEXT))
    for key in draw(f(st.just([]), st.lists(st.sampled_from(sorted(form)), max_size=2))):
        form.pop(key, None)
    auth: bytes | None = None
    if draw(mostly(st.just(False), st.just(True))):  # client_secret_basic instead of the form
        user = pct(form.pop("client_id", w.client_id))
        auth = basic(user, pct(form.pop("client_secret", w.client_secret)))
    extra = draw(f(st.just([]), st.lists(st.tuples(TEXT, st.one_of(secret(), TEXT)),
                                         min_size=1, max_size=2)))  # fmt: skip
    encoded = "&".join(f"{pct(k)}={pct(v)}" for k, v in [*form.items(), *extra]).encode()
    body = draw(f(st.just(encoded), st.one_of(
        st.builds(lambda s: ("client_secret=" + s).encode("utf-8", "surrogatepass"), secret()),
        st.binary(max_size=64),
        st.just(b"grant_type=client_credentials&client_secret=" + b"x" * 20_000),
        st.builds(encode_json, JSON_ANY, st.booleans()),
    )))  # fmt: skip
    headers: dict[str, bytes] = pick("headers", st.just({}), EXTRA_HEADERS)
    form_types = st.sampled_from(
        [b"application/x-www-form-urlencoded", b"application/x-www-form-urlencoded; charset=utf-8"]
    )
    content_type = pick("content_type", form_types, st.one_of(CONTENT_TYPES, st.none()))
    if content_type is not None:
        headers["content-type"] = content_type
    odd_basic = st.one_of(
        st.builds(basic, secret(), secret()),
        secret().map(lambda s: scheme(b"Basic", s)),
        header_value(),
    )
    auth = pick("authorization", st.just(auth), odd_basic)
    if auth is not None:
        headers["authorization"] = auth
    return Req(
        method=pick("method", st.just("POST"), METHODS),
        path=prefix + TOKEN_PATH,
        query=pick("query", st.just(""), odd_query(w)),
        headers=headers,
        body=body,
        oauth=True,
    )


@st.composite
def other_requests(draw: st.DrawFn, w: World) -> Req:
    pick = Pick(draw, draw(mutations()))
    prefix, host = pick("tenant", st.just(("", None)), odd_tenant(w))
    odd_path = st.one_of(
        st.sampled_from(["/", "/auth", "/health/", "/aliasesx", "/openapi.yaml",
                         "/auth/realms/vgs/protocol/openid-connect"]),
        URL_TEXT.map(lambda t: "/" + pct(t, safe="/")),
    )  # fmt: skip
    path = pick(
        "path", st.sampled_from(["/health", "/ready", CERTS_PATH, "/openapi.json"]), odd_path
    )
    headers: dict[str, bytes] = pick("headers", st.just({}), EXTRA_HEADERS)
    if host is not None:
        headers["host"] = host
    auth = pick("auth", st.none(), odd_auth(w))
    if auth is not None:
        headers["authorization"] = auth
    return Req(
        method=pick("method", st.sampled_from(["GET", "HEAD"]), METHODS),
        path=prefix + path,
        query=pick("query", st.just(""), odd_query(w)),
        headers=headers,
        body=pick("body", st.just(b""), st.one_of(ODD_BODIES)),
    )


# --- the properties --------------------------------------------------------------------------


def send(w: World, req: Req) -> httpx.Response:
    url = w.url + req.path + (f"?{req.query}" if req.query else "")
    w.sent += 1
    return w.client.request(req.method, url, headers=req.headers, content=req.body)


def check(req: Req, r: httpx.Response) -> None:
    event(f"status {r.status_code}")  # see --hypothesis-show-statistics
    where = f"{req.method} {req.path}?{req.query[:80]} -> {r.status_code}"
    assert r.status_code < 500, f"{where}: {r.text[:300]}"
    assert len(r.headers.get("vgs-request-id", "")) == 32, f"{where}: {req.headers} {r.text[:200]}"
    if r.status_code < 400:
        return
    assert SENTINEL not in r.text, f"{where}: a submitted value is echoed: {r.text[:300]}"
    if req.method == "HEAD":
        assert r.content == b"", where
        return
    assert r.headers["content-type"].startswith("application/json"), where
    body = r.json()
    if req.oauth:
        assert set(body) == {"error", "error_description"}, f"{where}: {body}"
        assert isinstance(body["error"], str)
        assert isinstance(body["error_description"], str)
        return
    assert set(body) == {"errors", "trace_id"}, f"{where}: {body}"
    assert body["trace_id"] == r.headers["vgs-request-id"], where
    errors = body["errors"]
    assert isinstance(errors, list), where
    assert errors, where
    for err in errors:
        assert err["status"] == r.status_code, f"{where}: {err}"
        assert isinstance(err["code"], str), where
        assert err["code"], where
        assert isinstance(err["detail"], str), where
        assert isinstance(err["title"], str), where
    if r.status_code == 405:
        assert "OPTIONS" in r.headers["allow"], where


def fuzz(world: World, requests: Any) -> None:
    """Send `world.examples` requests drawn from requests(world) and check every answer."""

    @settings(FUZZ, max_examples=world.examples)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        req = data.draw(requests(world))
        check(req, send(world, req))

    before = world.sent
    run()
    assert world.sent - before >= world.examples, "fewer requests than examples"


def test_vault_api_routes(world: World) -> None:
    fuzz(world, alias_requests)


def test_token_endpoint(world: World) -> None:
    fuzz(world, token_requests)


def test_other_routes(world: World) -> None:
    fuzz(world, other_requests)
