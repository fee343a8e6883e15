"""The project's error tree.

Every error carries the process exit code that tells Argo (and a person) whether a retry can help:
0 ok, 65 bad source data, 66 missing input, 75 transient, 78 bad config, 70 bug, 130 Ctrl-C.
Bad command-line arguments are usage errors: argparse prints the usage and exits 2.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import IntEnum

from xetra_etl.common.domain.wording import counted


class ExitCode(IntEnum):
    OK = 0
    USAGE = 2  # the command line is wrong (argparse's own exit code for a bad argument)
    DATA = 65  # EX_DATAERR: the source data is wrong; retrying will not help
    NO_INPUT = 66  # EX_NOINPUT: an input object the step needs is missing
    SOFTWARE = 70  # EX_SOFTWARE: a bug
    TEMPORARY = 75  # EX_TEMPFAIL: network, throttling, a held lock; retry
    CONFIG = 78  # EX_CONFIG: the configuration is wrong
    INTERRUPTED = 130  # stopped by Ctrl-C (128 + SIGINT), as the shell reports it
    OUTPUT_CLOSED = 141  # stdout's reader went away (128 + SIGPIPE), as `cmd | head` reports it

    @classmethod
    def combine(cls, codes: Iterable[int]) -> ExitCode:
        """One exit code for several failures: transient if any is (a retry can fix it), else
        the first failure's code; OK when there is none."""
        failed = [cls(code) for code in codes if code]
        if not failed:
            return cls.OK
        return cls.TEMPORARY if cls.TEMPORARY in failed else failed[0]


class XetraEtlError(Exception):
    """Root of every error the pipeline raises on purpose."""

    exit_code: ExitCode = ExitCode.SOFTWARE


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


class UsageError(XetraEtlError):
    """The command line asks for something that cannot be done as given; retrying will not help."""

    exit_code = ExitCode.USAGE


class ConfigError(XetraEtlError):
    """The configuration or the command line is wrong; lists every problem at once."""

    exit_code = ExitCode.CONFIG

    def __init__(
        self, problems: list[str] | str, *, source: str | None = None, head: str | None = None
    ) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        where = f"invalid configuration in {source}" if source else "invalid configuration"
        self.head = head or where
        super().__init__(self.head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class ConfigMissingError(ConfigError):
    """No config file was given or found: nothing in a file is wrong yet."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem, head="no config file found")


class StorageTransientError(XetraEtlError):
    """The store did not answer, or answered with a throttling or server error, after retries."""

    exit_code = ExitCode.TEMPORARY


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


class LockHeldError(XetraEtlError):
    """Another run holds the target's run lock."""

    exit_code = ExitCode.TEMPORARY


class PreviousCloseUnknownError(XetraEtlError):
    """A date in a date's lookback window failed, so the date's previous close is unknown.

    Carries the window date's exit code: a retry helps exactly when it helps that date.
    """

    def __init__(self, window_date: dt.date, cause: BaseException) -> None:
        self.window_date = window_date
        self.exit_code = cause.exit_code if isinstance(cause, XetraEtlError) else ExitCode.SOFTWARE
        super().__init__(f"previous close depends on {window_date}, which failed: {cause}")


class DateFailedError(XetraEtlError):
    """One or more dates of a run failed; carries their one exit code (`ExitCode.combine`:
    transient when any is, else the first failure's)."""

    def __init__(self, failures: dict[str, str], exit_code: ExitCode) -> None:
        self.failures = failures
        self.exit_code = exit_code
        names = ", ".join(sorted(failures))
        super().__init__(f"{counted(len(failures), 'date')} failed: {names}")


class SourceNotFoundError(XetraEtlError):
    """The source URI does not exist or holds no date folders: the config points elsewhere."""

    exit_code = ExitCode.CONFIG


class SourceStaleError(XetraEtlError):
    """The source's newest date is older than `source.freshness.error_after_days`: it has
    stopped receiving data. Missing input (66): the dates a run is for are not there, no
    setting of ours is wrong (78), and a retry minutes later will not bring them (75)."""

    exit_code = ExitCode.NO_INPUT
