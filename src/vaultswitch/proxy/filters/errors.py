"""Why a message could not be filtered: a typed error the proxies turn into an HTTP answer.

A :class:`FilterError` names the *place* (``body $.card.number``, ``form field card_number``,
``header X-Card``) and what is wrong there, never the value: a field an ENRICH entry reads
may hold a real card number a client sent by mistake, so no selected text is ever quoted.

Its ``status`` depends on the phase of the entry that failed: a request the proxy cannot
filter is the client's to fix (4xx); a response it cannot filter is the upstream's (502).
"""

from __future__ import annotations

from typing import ClassVar, Literal

Phase = Literal["REQUEST", "RESPONSE"]
UPSTREAM_FAILED = 502


class FilterError(Exception):
    """A message an entry could not be applied to; ``code`` is stable, ``hint`` says a fix."""

    code: ClassVar[str] = "FILTER_FAILED"
    request_status: ClassVar[int] = 400

    def __init__(self, detail: str, hint: str, phase: Phase = "REQUEST") -> None:
        self.detail = detail
        self.hint = hint
        self.phase: Phase = phase
        super().__init__(detail)

    @property
    def status(self) -> int:
        """The HTTP status the proxy answers with (a failed response phase: 502)."""
        return self.request_status if self.phase == "REQUEST" else UPSTREAM_FAILED

    def __str__(self) -> str:
        return f"[{self.code}] {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


class AliasNotFound(FilterError):
    """Strict mode: an ENRICH entry selected aliases the vault does not hold."""

    code = "ALIAS_NOT_FOUND"


class ValueNotRedactable(FilterError):
    """A REDACT entry selected a value its alias format cannot take (or not valid text)."""

    code = "INVALID_VALUE"


class InvalidJsonBody(FilterError):
    """A JSON body (by Content-Type) that REDACT entries must read is not valid JSON."""

    code = "INVALID_JSON"


class UnsupportedContentEncoding(FilterError):
    """A body entry applies to a body compressed in a way the filters cannot read."""

    code = "UNSUPPORTED_CONTENT_ENCODING"
    request_status = 415


class InvalidContentEncoding(FilterError):
    """A gzip / deflate body that does not decompress."""

    code = "INVALID_CONTENT_ENCODING"


class BodyTooLarge(FilterError):
    """A body (once decompressed) larger than the filters' limit."""

    code = "BODY_TOO_LARGE"
    request_status = 413


class TooManyValues(FilterError):
    """More selected values in one message than the filters' limit."""

    code = "TOO_MANY_VALUES"
    request_status = 413


class InvalidHeaderValue(FilterError):
    """A revealed value that cannot be sent in a header (line breaks, NUL, outer spaces)."""

    code = "INVALID_HEADER_VALUE"
