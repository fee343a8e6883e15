"""Both S3 stores judge a server's answer alike: by its S3 error code and HTTP status."""

from __future__ import annotations

import pytest

from xetra_etl.common.adapters.storage.translation import answer_error, translated
from xetra_etl.common.infra.errors import (
    ObjectNotFoundError,
    PreconditionFailedError,
    StorageError,
    StorageTransientError,
    XetraEtlError,
)

WHERE = "s3://bucket/key"


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("NoSuchKey", "404", ObjectNotFoundError),
        ("", "404", ObjectNotFoundError),
        ("NoSuchBucket", "404", StorageError),
        ("PreconditionFailed", "412", PreconditionFailedError),
        ("ConditionalRequestConflict", "409", PreconditionFailedError),
        ("SlowDown", "503", StorageTransientError),
        ("", "500", StorageTransientError),
        ("AccessDenied", "403", StorageError),
    ],
)
def test_an_answer_is_judged_by_its_code_and_status(
    code: str, status: str, expected: type[XetraEtlError]
) -> None:
    error = answer_error(f"reading {WHERE}", WHERE, code, status, "the message")
    assert type(error) is expected


def test_a_conditional_write_to_a_missing_key_lost_its_condition() -> None:
    def not_found(exc: Exception, verb: str, location: str) -> XetraEtlError:
        return ObjectNotFoundError(location)

    with (
        pytest.raises(PreconditionFailedError),
        translated(not_found, (KeyError,), "writing", WHERE, if_match='"etag"'),
    ):
        raise KeyError("gone")
    with pytest.raises(ObjectNotFoundError), translated(not_found, (KeyError,), "reading", WHERE):
        raise KeyError("gone")
