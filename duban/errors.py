"""Domain errors; the web maps each to a 4xx `{"detail": ...}` and the CLI to one line."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the user can act on; `code` is stable, `message` is Chinese for people."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(DomainError):
    """The thing does not exist, or is not visible to the caller."""

    status = 404
    code = "not_found"


class Forbidden(DomainError):
    """The caller may not do this."""

    status = 403
    code = "forbidden"


class Conflict(DomainError):
    """The thing is not in a state that allows this."""

    status = 409
    code = "conflict"


class Invalid(DomainError):
    """The input is malformed or out of range."""

    status = 422
    code = "invalid"


class TooLarge(DomainError):
    """An upload or document is over the size limit."""

    status = 413
    code = "too_large"


class Unavailable(DomainError):
    """A part the request needs is missing or down on this server (the one allowed 5xx)."""

    status = 503
    code = "unavailable"


class CodedInvalid(Invalid):
    """An Invalid whose stable `code` the JSON body shows (`child_due_after_parent`, ...)."""

    expose_code = True


class CodedConflict(Conflict):
    """A Conflict whose stable `code` the JSON body shows (`children_open`)."""

    expose_code = True
