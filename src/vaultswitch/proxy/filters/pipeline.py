"""The filter pipeline: route entries applied to one message, sans-IO.

Three steps, of which only the middle one talks to a backend (and it is the only part the
async and sync drivers do not share):

1. :meth:`FilterPlan.select` (pure): every spot the entries select in the message's headers
   and body, overlapping spots settled by entry order, and the backend calls they need:
   per storage, one ``redact`` batch (distinct value + format + classifiers) and one
   ``reveal`` batch (distinct aliases);
2. the calls, made by :func:`apply_filters` (async) or :func:`apply_filters_sync`;
3. :meth:`Selection.finish` (pure): the answers spliced in, the body's Content-Length set.

The body is read only when an entry targets it (:attr:`FilterPlan.touches_body`: a proxy
streams the others), parsed as JSON only when a JSON_PATH entry applies, and a body that
ends up unchanged is returned as the very bytes that came in. Card values the pipeline
holds outside the body text are :class:`~vaultswitch.domain.secret.Secret`; nothing here
logs, and no error names a selected value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from vaultswitch.domain.secret import Secret
from vaultswitch.proxy.filters.backend import (
    AliasBackend,
    AliasBackendError,
    RedactItem,
    Storage,
    SyncAliasBackend,
    ValueRefused,
)
from vaultswitch.proxy.filters.content_coding import codings, decoded_body
from vaultswitch.proxy.filters.errors import (
    AliasNotFound,
    FilterError,
    InvalidHeaderValue,
    InvalidJsonBody,
    Phase,
    TooManyValues,
    ValueNotRedactable,
)
from vaultswitch.proxy.filters.form_body import FORM_MEDIA_TYPE, select_form
from vaultswitch.proxy.filters.headers import header_bytes, header_text, select_headers, sendable
from vaultswitch.proxy.filters.json_body import NotJson, select_json
from vaultswitch.proxy.filters.message import Message, is_json_media, with_body
from vaultswitch.proxy.filters.regex_body import select_regex
from vaultswitch.proxy.filters.spots import Spot, claim, splice, valid_text, written
from vaultswitch.proxy.routes.model import Entry
from vaultswitch.proxy.routes.transformers import (
    FormFieldTransformer,
    JsonPath,
    JsonPathTransformer,
    RegexTransformer,
)

#: Default limits: selected values in one message, and a body's size once decompressed.
MAX_VALUES = 1000
MAX_DECODED_BODY = 33_554_432  # 32 MiB, the vault's value limit
_MAX_PLACES_SHOWN = 5


@dataclass(frozen=True, slots=True)
class FilterResult:
    """The transformed message and what happened to it (counts only: safe to log)."""

    message: Message
    body_changed: bool = False
    headers_changed: bool = False
    redacted: int = 0  # spots now holding an alias
    revealed: int = 0  # spots now holding a revealed value
    unknown: int = 0  # ENRICH spots left as they were (no such alias)


@dataclass(frozen=True, slots=True)
class FilterPlan:
    """The entries that apply to one message (one phase), arranged for selection."""

    entries: tuple[Entry, ...]
    max_values: int = MAX_VALUES
    max_decoded_body: int = MAX_DECODED_BODY
    json_paths: tuple[tuple[int, JsonPath], ...] = field(init=False, repr=False)
    form_fields: dict[str, tuple[int, ...]] = field(init=False, repr=False)
    header_fields: dict[str, tuple[int, ...]] = field(init=False, repr=False)
    body_patterns: tuple[tuple[int, RegexTransformer], ...] = field(init=False, repr=False)
    header_patterns: tuple[tuple[int, RegexTransformer], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        json_paths: list[tuple[int, JsonPath]] = []
        form: dict[str, list[int]] = {}
        named: dict[str, list[int]] = {}
        body_patterns: list[tuple[int, RegexTransformer]] = []
        header_patterns: list[tuple[int, RegexTransformer]] = []
        for number, entry in enumerate(self.entries):
            transformer = entry.transformer
            body, headers = "body" in entry.targets, "headers" in entry.targets
            if isinstance(transformer, JsonPathTransformer):
                if body:
                    json_paths.extend((number, path) for path in transformer.paths)
            elif isinstance(transformer, FormFieldTransformer):
                for name in dict.fromkeys(transformer.fields):
                    if body:
                        form.setdefault(name, []).append(number)
                    if headers:
                        named.setdefault(name.lower(), []).append(number)
            elif isinstance(transformer, RegexTransformer):
                if body:
                    body_patterns.append((number, transformer))
                if headers:
                    header_patterns.append((number, transformer))
        setter = object.__setattr__
        setter(self, "json_paths", tuple(json_paths))
        setter(self, "form_fields", {k: tuple(v) for k, v in form.items()})
        setter(self, "header_fields", {k: tuple(dict.fromkeys(v)) for k, v in named.items()})
        setter(self, "body_patterns", tuple(body_patterns))
        setter(self, "header_patterns", tuple(header_patterns))

    @classmethod
    def of(
        cls,
        entries: Sequence[Entry],
        *,
        max_values: int = MAX_VALUES,
        max_decoded_body: int = MAX_DECODED_BODY,
    ) -> FilterPlan:
        return cls(tuple(entries), max_values, max_decoded_body)

    @property
    def touches_body(self) -> bool:
        """Whether an entry reads the body (else the proxy may stream it untouched)."""
        return bool(self.json_paths or self.form_fields or self.body_patterns)

    @property
    def touches_headers(self) -> bool:
        return bool(self.header_fields or self.header_patterns)

    @property
    def empty(self) -> bool:
        return not (self.touches_body or self.touches_headers)

    def select(self, message: Message) -> Selection:
        """Step 1: the spots and the backend calls they need (pure; raises FilterError)."""
        header_spots = (
            select_headers(message.headers, self.header_fields, self.header_patterns)
            if self.touches_headers
            else {}
        )
        kept_headers = {index: claim(spots) for index, spots in header_spots.items()}
        text: str | None = None
        decoded = False
        body_spots: list[tuple[int, Spot]] = []
        if self.touches_body and message.body:
            body = message.body
            applied = codings(message.headers)
            if applied:
                body = decoded_body(body, applied, self.max_decoded_body, self._body_phase())
                decoded = True
            text = body.decode("utf-8", "surrogateescape")
            body_spots = claim(self._body_spots(text, message.media_type))
        selection = Selection(self, message, text, decoded, body_spots, kept_headers)
        if selection.count > self.max_values:
            raise TooManyValues(
                f"the entries select {selection.count} values in one message "
                f"(at most {self.max_values})",
                "send fewer card fields in one message",
                self._body_phase(),
            )
        selection.batch()
        return selection

    def _body_phase(self) -> Phase:
        for entry in self.entries:
            if "body" in entry.targets:
                return entry.phase
        return self.entries[0].phase if self.entries else "REQUEST"

    def _body_spots(self, text: str, media: str) -> list[tuple[int, Spot]]:
        found: list[tuple[int, Spot]] = []
        if self.json_paths:
            try:
                found.extend(select_json(text, self.json_paths))
            except NotJson:
                self._json_unreadable(media)
        if self.form_fields and media in ("", FORM_MEDIA_TYPE):
            for name, spot in select_form(text, self.form_fields):
                found.extend((number, spot) for number in self.form_fields[name])
        for number, transformer in self.body_patterns:
            found.extend((number, spot) for spot in select_regex(text, transformer, "body"))
        found.sort(key=lambda pair: pair[0])  # stable: entry order, then text order
        return found

    def _json_unreadable(self, media: str) -> None:
        """A body that is not JSON holds nothing for JSON_PATH, unless it says it is JSON and
        a REDACT entry must read it: then card data could pass unredacted, so it fails."""
        if not is_json_media(media):
            return
        for number, _ in self.json_paths:
            entry = self.entries[number]
            if entry.operation == "REDACT":
                raise InvalidJsonBody(
                    "the body is not valid JSON (UTF-8), so its card fields cannot be redacted",
                    "send a valid JSON body, or a Content-Type that is not JSON",
                    entry.phase,
                )


_RedactKey = tuple[Secret, str, tuple[str, ...]]  # value, format, classifiers


@dataclass(slots=True)
class Selection:
    """What a plan selected in one message; :meth:`finish` completes it (step 3)."""

    plan: FilterPlan
    message: Message
    text: str | None = field(repr=False)  # the body as text: never shown
    decoded: bool
    body_spots: list[tuple[int, Spot]]
    header_spots: dict[int, list[tuple[int, Spot]]]
    redact_batches: dict[Storage, list[RedactItem]] = field(default_factory=dict)
    # the strings an ENRICH selected: aliases, or whatever a client sent there (not shown)
    reveal_batches: dict[Storage, list[str]] = field(default_factory=dict, repr=False)
    _redact_index: dict[Storage, dict[_RedactKey, int]] = field(default_factory=dict, repr=False)
    _reveal_seen: dict[Storage, set[str]] = field(default_factory=dict, repr=False)

    @property
    def count(self) -> int:
        return len(self.body_spots) + sum(len(s) for s in self.header_spots.values())

    def _all_spots(self) -> list[tuple[int, Spot]]:
        spots = list(self.body_spots)
        for index in sorted(self.header_spots):
            spots.extend(self.header_spots[index])
        return spots

    def batch(self) -> None:
        """Fill the per-storage batches from the spots (REDACT values are checked first)."""
        for number, spot in self._all_spots():
            entry = self.plan.entries[number]
            storage = entry.token_manager
            value = spot.value.reveal()
            if entry.operation == "REDACT":
                if not valid_text(value):
                    raise ValueNotRedactable(
                        f"the value at {spot.place} is not valid UTF-8 text",
                        "send card data as UTF-8 text",
                        entry.phase,
                    )
                key = (spot.value, entry.public_token_generator, entry.classifiers.tags)
                index = self._redact_index.setdefault(storage, {})
                if key not in index:
                    batch = self.redact_batches.setdefault(storage, [])
                    index[key] = len(batch)
                    batch.append(
                        RedactItem(
                            spot.value,
                            entry.public_token_generator,
                            storage,
                            entry.classifiers.tags,
                        )
                    )
            elif valid_text(value):
                seen = self._reveal_seen.setdefault(storage, set())
                if value not in seen:
                    seen.add(value)
                    self.reveal_batches.setdefault(storage, []).append(value)

    @property
    def needs_backend(self) -> bool:
        return bool(self.redact_batches or self.reveal_batches)

    def refused(self, storage: Storage, exc: ValueRefused) -> ValueNotRedactable:
        """The FilterError for a backend's refusal of one redact item, naming its place."""
        batch = self.redact_batches.get(storage, [])
        item = batch[exc.index] if 0 <= exc.index < len(batch) else None
        for number, spot in self._all_spots():
            entry = self.plan.entries[number]
            if (
                item is not None
                and entry.operation == "REDACT"
                and entry.token_manager == storage
                and entry.public_token_generator == item.format
                and spot.value == item.value
            ):
                return ValueNotRedactable(
                    f"the value at {spot.place} cannot be redacted: {exc.reason}",
                    "send a value the route entry's alias format takes, or change the entry's "
                    "public_token_generator (UUID takes any value)",
                    entry.phase,
                )
        return ValueNotRedactable(
            f"a value cannot be redacted: {exc.reason}",
            "change the route entry's public_token_generator (UUID takes any value)",
        )

    def finish(
        self,
        redacted: Mapping[Storage, Sequence[str]],
        revealed: Mapping[Storage, Mapping[str, Secret | None]],
        *,
        strict: bool = False,
    ) -> FilterResult:
        """Step 3: the backend's answers put in place (pure)."""
        counts = {"REDACT": 0, "ENRICH": 0}
        unknown: list[tuple[int, Spot]] = []

        def replacement(number: int, spot: Spot) -> str | None:
            entry = self.plan.entries[number]
            storage = entry.token_manager
            value = spot.value.reveal()
            if entry.operation == "REDACT":
                key = (spot.value, entry.public_token_generator, entry.classifiers.tags)
                index = self._redact_index[storage][key]
                aliases = redacted.get(storage, ())
                if index >= len(aliases):
                    raise AliasBackendError(
                        f"the alias backend answered {len(aliases)} aliases for "
                        f"{len(self.redact_batches[storage])} values",
                        code="BACKEND_FAILED",
                        status=502,
                    )
                counts["REDACT"] += 1
                return aliases[index]
            found = revealed.get(storage, {}).get(value) if valid_text(value) else None
            if found is None:
                unknown.append((number, spot))
                return None
            counts["ENRICH"] += 1
            return found.reveal()

        body_edits = [
            (spot.start, spot.end, written(spot.write, new))
            for number, spot in self.body_spots
            if (new := replacement(number, spot)) is not None
        ]
        header_edits: dict[int, list[tuple[int, int, str]]] = {}
        for index, spots in self.header_spots.items():
            edits = [
                (spot.start, spot.end, written(spot.write, new))
                for number, spot in spots
                if (new := replacement(number, spot)) is not None
            ]
            if edits:
                header_edits[index] = edits
        if strict and unknown:
            raise self._not_found(unknown)
        headers = self._headers(header_edits)
        body = self.message.body
        if body_edits and self.text is not None:
            body = splice(self.text, body_edits).encode("utf-8", "surrogateescape")
            drop = (b"content-encoding",) if self.decoded else ()
            headers = with_body(headers, body, drop=drop)
        return FilterResult(
            Message(headers, body),
            body_changed=bool(body_edits),
            headers_changed=bool(header_edits),
            redacted=counts["REDACT"],
            revealed=counts["ENRICH"],
            unknown=len(unknown),
        )

    def _headers(
        self, edits: Mapping[int, list[tuple[int, int, str]]]
    ) -> tuple[tuple[bytes, bytes], ...]:
        if not edits:
            return self.message.headers
        out = list(self.message.headers)
        for index, changes in edits.items():
            name, raw = out[index]
            value = splice(header_text(raw), changes)
            if not sendable(value):
                number = next(n for n, _ in self.header_spots[index])
                raise InvalidHeaderValue(
                    f"the header {name.decode('latin-1')[:64]} cannot hold the revealed value "
                    "(a line break, NUL or white space at either end)",
                    "store header values without line breaks or outer white space",
                    self.plan.entries[number].phase,
                )
            out[index] = (name, header_bytes(value))
        return tuple(out)

    def _not_found(self, unknown: list[tuple[int, Spot]]) -> AliasNotFound:
        places = list(dict.fromkeys(spot.place for _, spot in unknown))
        shown = ", ".join(places[:_MAX_PLACES_SHOWN])
        more = len(places) - _MAX_PLACES_SHOWN
        if more > 0:
            shown += f" and {more} more"
        noun = "alias" if len(unknown) == 1 else "aliases"
        return AliasNotFound(
            f"no stored value for the {noun} at {shown}",
            "send aliases this vault holds, in the storage the route entry reveals from "
            "(its token_manager); outside strict mode unknown aliases pass through unchanged",
            self.plan.entries[unknown[0][0]].phase,
        )


def plan_of(entries: FilterPlan | Sequence[Entry]) -> FilterPlan:
    return entries if isinstance(entries, FilterPlan) else FilterPlan.of(entries)


async def apply_filters(
    entries: FilterPlan | Sequence[Entry],
    message: Message,
    backend: AliasBackend,
    *,
    strict: bool = False,
) -> FilterResult:
    """Apply the entries to a message through an async backend."""
    plan = plan_of(entries)
    if plan.empty:
        return FilterResult(message)
    selection = plan.select(message)
    if not selection.needs_backend:
        return selection.finish({}, {}, strict=strict)
    redacted: dict[Storage, Sequence[str]] = {}
    for storage, items in selection.redact_batches.items():
        try:
            redacted[storage] = await backend.redact(items)
        except ValueRefused as exc:
            raise selection.refused(storage, exc) from None
    revealed: dict[Storage, Mapping[str, Secret | None]] = {}
    for storage, aliases in selection.reveal_batches.items():
        revealed[storage] = await backend.reveal(aliases, storage)
    return selection.finish(redacted, revealed, strict=strict)


def apply_filters_sync(
    entries: FilterPlan | Sequence[Entry],
    message: Message,
    backend: SyncAliasBackend,
    *,
    strict: bool = False,
) -> FilterResult:
    """Apply the entries to a message through a sync backend."""
    plan = plan_of(entries)
    if plan.empty:
        return FilterResult(message)
    selection = plan.select(message)
    if not selection.needs_backend:
        return selection.finish({}, {}, strict=strict)
    redacted: dict[Storage, Sequence[str]] = {}
    for storage, items in selection.redact_batches.items():
        try:
            redacted[storage] = backend.redact(items)
        except ValueRefused as exc:
            raise selection.refused(storage, exc) from None
    revealed: dict[Storage, Mapping[str, Secret | None]] = {}
    for storage, aliases in selection.reveal_batches.items():
        revealed[storage] = backend.reveal(aliases, storage)
    return selection.finish(redacted, revealed, strict=strict)


__all__ = [
    "MAX_DECODED_BODY",
    "MAX_VALUES",
    "FilterError",
    "FilterPlan",
    "FilterResult",
    "Selection",
    "apply_filters",
    "apply_filters_sync",
]
