"""One translation of S3 failures into the project's errors, for both S3 stores.

A store runs each request inside `translated(...)` (as httpx maps transport errors in one place);
the store's own `translate` says what its client's exception is, and an answer from the server is
judged by its S3 error code and HTTP status alone (`answer_error`), whichever client got it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from xetra_etl.common.infra.errors import (
    ObjectNotFoundError,
    PreconditionFailedError,
    StorageError,
    StorageTransientError,
    XetraEtlError,
)

NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
PRECONDITION = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
TRANSIENT = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "500",
    "502",
    "503",
    "504",
}

Translate = Callable[[Exception, str, str], XetraEtlError]


def answer_error(doing: str, location: str, code: str, status: str, message: str) -> XetraEtlError:
    """The error for a server's answer: its S3 error `code` and HTTP `status` decide."""
    named = f"{message} ({code})" if code else message
    if code in NOT_FOUND or (status == "404" and code != "NoSuchBucket"):
        return ObjectNotFoundError(location)
    if code in PRECONDITION or status in {"412", "409"}:
        return PreconditionFailedError(f"{doing}: condition not met ({code or status})")
    if code in TRANSIENT or status.startswith("5"):
        return StorageTransientError(f"{doing}: {named}, still failing after retries")
    return StorageError(f"{doing}: {named}")


@contextlib.contextmanager
def translated(
    translate: Translate,
    catch: tuple[type[Exception], ...],
    verb: str,
    location: str,
    *,
    if_match: str | None = None,
) -> Iterator[None]:
    """Raise the project's error for a failure of `catch` while `verb` (reading...) `location`.

    `if_match`: a conditional write, where a missing key is a lost condition, whether the server
    answers 404 (AWS, moto) or 412 (SeaweedFS).
    """
    try:
        yield
    except catch as exc:
        error = translate(exc, verb, location)
        if if_match is not None and isinstance(error, ObjectNotFoundError):
            error = PreconditionFailedError(f"{location} does not exist")
        raise error from exc
