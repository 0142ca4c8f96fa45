"""A wrapper for sensitive strings that never shows its value unless asked to."""

from __future__ import annotations

import hmac
from typing import Any, NoReturn

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

MASK = "**********"


class Secret:
    """Holds a sensitive string (PAN, CVC, client secret, token).

    ``repr``, ``str``, f-strings, ``%`` formatting, logging, JSON encoding
    (through :func:`json_default` or pydantic) and pydantic dumps all show
    a mask. Pickling is refused. Only :meth:`reveal` returns the value.
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """Return the wrapped value; the one explicit way to read it."""
        return self._value

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("Secret is immutable")

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, format_spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __getstate__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def hide(value: Any) -> Any:
            # A rejected input would be echoed in the ValidationError (input_value=...):
            # swap it for a stand-in that shows only its type.
            if isinstance(value, Secret | str):
                return value
            return _RejectedInput(type(value).__name__)

        def validate(value: Any) -> Secret:
            if isinstance(value, Secret):
                return value
            if isinstance(value, str):
                return Secret(value)
            raise ValueError(f"must be a string, not {value}")

        return core_schema.no_info_before_validator_function(
            hide,
            core_schema.no_info_plain_validator_function(validate),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda _v: MASK, when_used="always"
            ),
        )


class _RejectedInput:
    """Stands in for a non-string input to a Secret field in validation errors."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"

    def __str__(self) -> str:
        return self.type_name


def json_default(value: object) -> object:
    """``json.dumps(default=...)`` hook: masks a :class:`Secret`, refuses anything else."""
    if isinstance(value, Secret):
        return MASK
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def reveal_optional(value: Secret | None) -> str | None:
    """Reveal a Secret that may be absent."""
    return None if value is None else value.reveal()
