"""Domain errors: each carries a machine code, a reason in Russian and English,
and the HTTP status the API answers with. Raising one changes nothing: services
raise before writing, and the surrounding transaction is rolled back."""

from __future__ import annotations


class DomainError(Exception):
    http_status = 400
    code = "invalid"

    def __init__(self, message_en: str, message_ru: str | None = None, *, code: str | None = None, **details):
        super().__init__(message_en)
        self.message_en = message_en
        self.message_ru = message_ru or message_en
        if code:
            self.code = code
        self.details = details

    def message(self, lang: str = "ru") -> str:
        return self.message_en if lang == "en" else self.message_ru

    def to_json(self) -> dict:
        return {"error": self.code, "reason": self.message_en, "reason_ru": self.message_ru, **self.details}


class Invalid(DomainError):
    http_status = 422
    code = "invalid"


class NotFound(DomainError):
    http_status = 404
    code = "not_found"


class Conflict(DomainError):
    http_status = 409
    code = "conflict"


class Forbidden(DomainError):
    http_status = 403
    code = "forbidden"


class InsufficientFunds(DomainError):
    http_status = 409
    code = "insufficient_funds"


class RateLimited(DomainError):
    http_status = 429
    code = "rate_limited"


class Locked(DomainError):
    http_status = 423
    code = "locked"


class Unauthorized(DomainError):
    http_status = 401
    code = "unauthorized"


def parse_id(value) -> int:
    """An object id from the browser (untrusted): a positive integer, else NotFound."""
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise NotFound("no such object", "Не найдено") from None
    if out <= 0 or out > 2**62:
        raise NotFound("no such object", "Не найдено")
    return out
