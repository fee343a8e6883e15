"""The command-line arguments the step commands share: the config, the run, the dates.

Argument types turn a bad value into a usage error (argparse prints the usage and exits 2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os

from xetra_etl.common.domain.dates import date_range_problem, parse_date, parse_work_item
from xetra_etl.common.entrypoints.entry import CONFIG_ENV, CONFIG_FILE_NAME, RUN_ID_ENV
from xetra_etl.common.infra.config import Config
from xetra_etl.common.infra.errors import UsageError


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


def date_step_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The arguments every per-date step takes: config, one work item, run id, output file."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_config_arg(parser)
    add_dates_arg(parser)
    add_run_id_arg(parser, required=True)
    add_out_arg(parser)
    return parser
