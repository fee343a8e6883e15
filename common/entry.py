"""The composition root and the one place that turns errors into exit codes.

Steps are thin: they declare arguments and call one application function through `run_step`,
which configures logging, loads the config, wires the real stores, writes Argo output files and
maps every failure to the documented exit code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.abc
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from common import logs
from common.app.context import Pipeline, for_each_date, new_run_id
from common.config import Config, load_config
from common.domain.dates import parse_date, parse_work_item
from common.errors import ConfigError, ExitCode, XetraEtlError
from common.storage.factory import open_store
from common.termination import write_termination_message

log = logging.getLogger("xetra_etl")

RUN_ID_ENV = "XETRA_RUN_ID"


def build_pipeline(config: Config, run_id: str) -> Pipeline:
    return Pipeline(
        config=config,
        source=open_store(config.source.uri, endpoint_url=config.source.endpoint_url),
        target=open_store(
            config.target.uri,
            endpoint_url=config.target.endpoint_url,
            scratch=f"{config.target.staging_prefix}/.tmp",
        ),
        run_id=run_id,
    )


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", required=True, metavar="FILE", help="pipeline config YAML (see README)"
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
        help="one work item from discover: YYYY-MM-DD, D1,D2,... or a JSON list of dates",
    )


def add_out_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", metavar="PATH", help="write a JSON summary of the step here (an Argo output)"
    )


def dates_of(args: argparse.Namespace) -> list[dt.date]:
    try:
        return parse_work_item(args.dates)
    except ValueError as exc:
        raise ConfigError(str(exc), source="--dates") from exc


def optional_date(value: str | None, what: str) -> dt.date | None:
    if value is None or not value.strip():
        return None
    try:
        return parse_date(value, what=what)
    except ValueError as exc:
        raise ConfigError(str(exc), source="the command line") from exc


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
    return int(ExitCode.SOFTWARE)


StepAction = Callable[[argparse.Namespace, Config], int | None]


def run_step(
    step: str,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    action: StepAction,
) -> int:
    """Parse, configure, run `action` and return the process exit code."""
    args = parser.parse_args(argv)
    logs.configure()
    logs.set_context(step=step, run_id=getattr(args, "run_id", None) or "-")
    try:
        config = load_config(args.config)
        logs.configure(fmt=config.logging.format, level=config.logging.level)
        if hasattr(args, "run_id") and not args.run_id:
            args.run_id = new_run_id()
        logs.set_context(run_id=getattr(args, "run_id", None) or "-")
        spare_pyarrow_pandas_probe()
        # Everything imported so far lives as long as the process: keep the cyclic collector
        # from scanning it again and again (~2% of a local run's CPU in perf).
        gc.freeze()
        return action(args, config) or 0
    except XetraEtlError as exc:
        code = exit_code_for(exc)
        log.error("%s failed (exit %d): %s", step, code, exc)
        write_termination_message(exc)
        return code
    except KeyboardInterrupt:
        log.error("%s interrupted", step)
        return 130
    except Exception as exc:
        log.exception("%s failed with an unexpected error (exit 70): this is a bug", step)
        write_termination_message(exc)
        return int(ExitCode.SOFTWARE)


def spare_pyarrow_pandas_probe() -> None:
    """Keep pyarrow from importing pandas in a step that never hands it pandas objects.

    pyarrow imports pandas the first time it builds any array, only to recognise pandas
    objects among its inputs: ~0.2 s, a tenth of a 20-day local run (profiled with
    `python -X importtime`). This lets that one probe find no pandas; whatever really needs
    pandas (`to_pandas`, `import pandas`) still imports it. Images without pandas never pay.
    """
    if "pyarrow" not in sys.modules or "pandas" in sys.modules:
        return
    import pyarrow as pa

    hide = _HidePandas()
    sys.meta_path.insert(0, hide)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(hide)


class _HidePandas(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname == "pandas":
            raise ModuleNotFoundError("hidden from pyarrow's probe", name=fullname)


def main_for(step_main: Callable[[Sequence[str] | None], int]) -> None:
    sys.exit(step_main(None))


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
    work: Callable[[Pipeline, dt.date], Any],
) -> int:
    """Run `work` for every date of the work item; its results (dataclasses) go to `--out`."""

    def action(args: argparse.Namespace, config: Config) -> int:
        pipeline = build_pipeline(config, args.run_id)
        results = for_each_date(pipeline, dates_of(args), lambda day: work(pipeline, day))
        write_output(args.out, {day.isoformat(): vars(r) for day, r in results.items()})
        return 0

    return run_step(step, parser, argv, action)
