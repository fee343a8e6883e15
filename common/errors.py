"""The project's error tree.

Every error carries the process exit code that tells Argo (and a person) whether a retry can help:
0 ok, 65 bad source data, 66 missing input, 75 transient, 78 bad config, 70 bug.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    DATA = 65  # EX_DATAERR: the source data is wrong; retrying will not help
    NO_INPUT = 66  # EX_NOINPUT: an input object the step needs is missing
    SOFTWARE = 70  # EX_SOFTWARE: a bug
    TEMPORARY = 75  # EX_TEMPFAIL: network, throttling, a held lock; retry
    CONFIG = 78  # EX_CONFIG: the configuration is wrong


class XetraEtlError(Exception):
    """Root of every error the pipeline raises on purpose."""

    exit_code: ExitCode = ExitCode.SOFTWARE
    retryable: bool = False


class SourceDataError(XetraEtlError):
    """A source object cannot be turned into correct numbers."""

    exit_code = ExitCode.DATA

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.key = key
        self.line = line
        self.column = column
        where = ", ".join(
            part
            for part in (
                f"object {key}" if key else "",
                f"line {line}" if line is not None else "",
                f"column {column}" if column else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class InputMissingError(XetraEtlError):
    """An object a step needs (staged by an earlier step) does not exist."""

    exit_code = ExitCode.NO_INPUT


class ConfigError(XetraEtlError):
    """The configuration or the command line is wrong; lists every problem at once."""

    exit_code = ExitCode.CONFIG

    def __init__(self, problems: list[str] | str, *, source: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        head = f"invalid configuration in {source}" if source else "invalid configuration"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class StorageTransientError(XetraEtlError):
    """The store did not answer, or answered with a throttling or server error, after retries."""

    exit_code = ExitCode.TEMPORARY
    retryable = True


class StorageError(XetraEtlError):
    """The store refused a request for a reason a retry will not fix (permissions, no bucket)."""

    exit_code = ExitCode.CONFIG


class ObjectNotFoundError(InputMissingError):
    def __init__(self, location: str) -> None:
        self.location = location
        super().__init__(f"object not found: {location}")


class PreconditionFailedError(XetraEtlError):
    """A conditional write lost the race; the caller re-reads and tries again."""

    exit_code = ExitCode.TEMPORARY
    retryable = True


class LockHeldError(XetraEtlError):
    """Another run holds the target's run lock."""

    exit_code = ExitCode.TEMPORARY
    retryable = True


class DateFailedError(XetraEtlError):
    """One or more dates of a run failed; carries the worst exit code among them."""

    def __init__(self, failures: dict[str, str], exit_code: ExitCode) -> None:
        self.failures = failures
        self.exit_code = exit_code
        names = ", ".join(sorted(failures))
        super().__init__(f"{len(failures)} date(s) failed: {names}")


class SourceNotFoundError(XetraEtlError):
    """The source URI does not exist or holds no date folders: the config points elsewhere."""

    exit_code = ExitCode.CONFIG
