"""The composition root and the one place that turns errors into exit codes.

Steps are thin: they declare arguments and call one application function through `run_step`,
which configures logging, loads the config, wires the real stores, writes Argo output files and
maps every failure to the documented exit code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import select
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from xetra_etl.common.adapters.storage.base import ObjectStore
from xetra_etl.common.adapters.storage.factory import open_store
from xetra_etl.common.app.context import StepContext, for_each_date, new_run_id
from xetra_etl.common.app.failure_records import recording_failures
from xetra_etl.common.app.reading import DateBars, DateReader
from xetra_etl.common.domain.dates import date_range_problem, parse_date, parse_work_item
from xetra_etl.common.domain.source_layout import SourceDate
from xetra_etl.common.infra import logs
from xetra_etl.common.infra.config import Config, SourceConfig, load_config
from xetra_etl.common.infra.errors import (
    ConfigError,
    ConfigMissingError,
    ExitCode,
    UsageError,
    XetraEtlError,
)
from xetra_etl.common.infra.extras import missing_extra
from xetra_etl.common.infra.termination import write_termination_message

log = logging.getLogger("xetra_etl")

RUN_ID_ENV = "XETRA_RUN_ID"


class SourceReaderOnDemand:
    """The source reader, made by the first date read.

    The control steps (discover, merge, notify) never read a date, and their images hold no
    numpy or pyarrow: the reader's imports come with its first use, never with the wiring.
    """

    def __init__(self, source: ObjectStore, settings: SourceConfig) -> None:
        self._source, self._settings = source, settings
        self._reader: DateReader | None = None
        self._lock = threading.Lock()

    def read_date(self, source_date: SourceDate) -> DateBars:
        with self._lock:
            if self._reader is None:
                from xetra_etl.common.adapters.source_reader import SourceReader

                self._reader = SourceReader(self._source, self._settings)
        return self._reader.read_date(source_date)


def build_context(config: Config, run_id: str) -> StepContext:
    source = open_store(
        config.source.uri,
        endpoint_url=config.source.endpoint_url,
        region=config.source.region,
        anonymous=config.source.anonymous,
    )
    return StepContext(
        config=config,
        source=source,
        target=open_store(
            config.target.uri,
            endpoint_url=config.target.endpoint_url,
            region=config.target.region,
            scratch=f"{config.target.staging_prefix}/.tmp",
            share_with=source,
        ),
        run_id=run_id,
        reader=SourceReaderOnDemand(source, config.source),
    )


CONFIG_ENV = "XETRA_CONFIG"
CONFIG_FILE_NAME = "xetra-etl.yaml"


def find_config(
    given: str | None, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Path:
    """The config file: `--config`, else `$XETRA_CONFIG`, else `./xetra-etl.yaml`."""
    if given:
        return Path(given)
    from_env = (os.environ if env is None else env).get(CONFIG_ENV, "").strip()
    if from_env:
        return Path(from_env)
    local = (cwd or Path.cwd()) / CONFIG_FILE_NAME
    if local.is_file():
        return local
    raise ConfigMissingError(
        f"pass --config FILE, set {CONFIG_ENV}, or put {CONFIG_FILE_NAME} in the current "
        "directory (config/demo.yaml is an example)"
    )


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    """`--config` and the output-level options `-q`/`-v` that every config-reading command takes."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"pipeline config YAML (default: ${CONFIG_ENV}, else ./{CONFIG_FILE_NAME})",
    )
    level = parser.add_mutually_exclusive_group()
    level.add_argument(
        "-q",
        "--quiet",
        dest="verbosity",
        action="store_const",
        const=-1,
        default=0,
        help="errors only, no progress line",
    )
    level.add_argument(
        "-v",
        "--verbose",
        dest="verbosity",
        action="store_const",
        const=1,
        help="also INFO lines on stderr (at a terminal they go only to the run log by default)",
    )


def add_run_id_arg(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--run-id",
        required=required,
        default=os.environ.get(RUN_ID_ENV) or None,
        help="id of the run this step belongs to (in Argo: the workflow name)",
    )


def add_dates_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dates",
        required=True,
        metavar="ITEM",
        type=work_item_arg,
        help="one work item from discover: YYYY-MM-DD, D1,D2,... or a JSON list of dates",
    )


def add_out_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", metavar="PATH", help="write a JSON summary of the step here (an Argo output)"
    )


def add_date_range_args(parser: argparse.ArgumentParser, *, first: str, last: str) -> None:
    parser.add_argument("--first-date", metavar="YYYY-MM-DD", type=optional_date_arg, help=first)
    parser.add_argument("--last-date", metavar="YYYY-MM-DD", type=optional_date_arg, help=last)


def run_date_range(args: argparse.Namespace, config: Config) -> tuple[dt.date, dt.date]:
    """The range a command works on: `--first-date` (else `pipeline.first_date`) to
    `--last-date` (else today, UTC); an empty or future range is a usage error."""
    today = dt.datetime.now(dt.UTC).date()
    first: dt.date = args.first_date or config.pipeline.first_date
    last: dt.date = args.last_date or today
    problem = date_range_problem(first, last, today)
    if problem:
        raise UsageError(problem)
    return first, last


# Argument types: a bad value is a usage error (argparse prints the usage and exits 2).


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def optional_date_arg(text: str) -> dt.date | None:
    """YYYY-MM-DD; an empty value (an unset Argo parameter) means the default."""
    if not text.strip():
        return None
    try:
        return parse_date(text, what="date")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def work_item_arg(text: str) -> list[dt.date]:
    try:
        return parse_work_item(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def write_output(path: str | None, value: Any) -> None:
    """Write an Argo output parameter file (creating its directory); stdout stays clean."""
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    target.write_text(text, encoding="utf-8")


def exit_code_for(exc: BaseException) -> int:
    if isinstance(exc, XetraEtlError):
        return int(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return int(ExitCode.INTERRUPTED)
    return int(ExitCode.SOFTWARE)


def report_failure(step: str, exc: BaseException) -> int:
    """Log why `step` failed, in one place for every step, and return its exit code."""
    exc = missing_extra(exc) or exc
    code = exit_code_for(exc)
    if isinstance(exc, ConfigError):
        log.error("%s failed (exit %d): %s", step, code, exc.head, extra={"problems": exc.problems})
    elif isinstance(exc, XetraEtlError):
        log.error("%s failed (exit %d): %s", step, code, exc)
    elif isinstance(exc, KeyboardInterrupt):
        log.error("%s interrupted", step)
    else:
        log.error(
            "%s failed with an unexpected error (exit %d): this is a bug",
            step,
            code,
            exc_info=exc,
        )
    if not isinstance(exc, KeyboardInterrupt):
        write_termination_message(exc)
    return code


StepAction = Callable[[argparse.Namespace, Config], int | None]


def run_step(
    step: str,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    action: StepAction,
) -> int:
    """Parse, configure, run `action`, and map its failure to the process exit code.

    Usage errors exit 2 from `parse_args`, before anything else happens.
    """
    args = parser.parse_args(argv)
    verbosity = getattr(args, "verbosity", 0)
    logs.configure(verbosity=verbosity)
    logs.set_context(step=step, run_id=getattr(args, "run_id", None) or "-")
    try:
        config = load_config(find_config(args.config))
        logs.configure(fmt=config.logging.format, level=config.logging.level, verbosity=verbosity)
        if hasattr(args, "run_id") and not args.run_id:
            args.run_id = new_run_id()
        logs.set_context(run_id=getattr(args, "run_id", None) or "-")
        return action(args, config) or 0
    except BrokenPipeError as exc:
        if not _stdout_closed():
            return report_failure(step, exc)
        # `xetra-etl … | head`: the work is done and recorded; only its printout has no reader.
        # Exit as a command stopped by SIGPIPE would, without a traceback or a second error
        # from the interpreter's last flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OUTPUT_CLOSED
    except (Exception, KeyboardInterrupt) as exc:
        return report_failure(step, exc)


def _stdout_closed() -> bool:
    """Whether standard output is a pipe whose reader has gone (not some socket of the work)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def date_step_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The arguments every per-date step takes: config, one work item, run id, output file."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_config_arg(parser)
    add_dates_arg(parser)
    add_run_id_arg(parser, required=True)
    add_out_arg(parser)
    return parser


def run_date_step(
    step: str,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    work: Callable[[StepContext, dt.date], Any],
) -> int:
    """Run `work` for every date of the work item; its results (dataclasses) go to `--out`."""

    def action(args: argparse.Namespace, config: Config) -> int:
        ctx = build_context(config, args.run_id)
        with recording_failures(ctx, step):
            results = for_each_date(ctx, args.dates, lambda day: work(ctx, day))
        write_output(args.out, {day.isoformat(): vars(r) for day, r in results.items()})
        return 0

    return run_step(step, parser, argv, action)
