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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from xetra_etl.common.adapters.reader_factory import open_reader
from xetra_etl.common.adapters.storage.factory import open_store
from xetra_etl.common.app.context import StepContext, for_each_date, new_run_id
from xetra_etl.common.app.failure_records import recording_failures
from xetra_etl.common.infra import logs
from xetra_etl.common.infra.config import Config, load_config
from xetra_etl.common.infra.errors import (
    ConfigError,
    ConfigMissingError,
    ExitCode,
    XetraEtlError,
)
from xetra_etl.common.infra.extras import missing_extra
from xetra_etl.common.infra.termination import write_termination_message

log = logging.getLogger("xetra_etl")

RUN_ID_ENV = "XETRA_RUN_ID"


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
        reader=open_reader(source, config.source),
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
