"""xetra-etl show: print a few rows of the report dataset (what `make demo` ends with)."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from xetra_etl.common.adapters.catalog import list_partitions
from xetra_etl.common.domain.jobcontrol import State
from xetra_etl.common.domain.wording import counted
from xetra_etl.common.entrypoints.entry import build_context, run_step
from xetra_etl.common.infra.config import Config
from xetra_etl.common.infra.errors import InputMissingError
from xetra_etl.steps.args import add_config_arg, optional_date_arg, positive_int

if TYPE_CHECKING:
    import pandas as pd

    from xetra_etl.common.app.context import StepContext

STEP = "show"


def build_parser(prog: str = "xetra-etl show") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Print where the report is and a few of its rows."
    )
    add_config_arg(parser)
    parser.add_argument(
        "--rows", type=positive_int, default=10, metavar="N", help="rows to print (default 10)"
    )
    parser.add_argument(
        "--date",
        type=optional_date_arg,
        metavar="YYYY-MM-DD",
        help="only this date's partition (exit 66 when it has none)",
    )
    return parser


def _span(days: list[dt.date]) -> str:
    return f"date {days[0]}" if len(days) == 1 else f"dates {days[0]} .. {days[-1]}"


def _run(args: argparse.Namespace, config: Config) -> int:
    import pandas as pd

    ctx = build_context(config, "show")
    dataset = ctx.target.location(ctx.layout.report_prefix)
    partitions = list_partitions(ctx.target, ctx.layout.report_prefix)
    records = {day: record for day, (record, _) in ctx.jobs.load().items()}
    if not partitions and not records:
        raise InputMissingError(
            f"no report in {ctx.target.uri}: the target holds no report partition and no job "
            "control record (check target.uri, or run `xetra-etl run` first)"
        )
    if args.date is not None:
        record = records.get(args.date)
        if args.date not in partitions:
            if record is not None and record.state is State.DONE and record.row_count == 0:
                sys.stdout.write(f"{args.date}: done with 0 rows (no trades that date)\n")
                return 0
            raise InputMissingError(
                f"no report partition for {args.date}: nothing under "
                f"{ctx.target.location(ctx.layout.partition_prefix(args.date))}"
                " (see `xetra-etl status` for the dates processed)"
            )
        partitions = {args.date: partitions[args.date]}
    sys.stdout.write(f"report dataset: {dataset}\n")
    days = sorted(partitions)
    if not days:
        sys.stdout.write("0 partitions: every date done so far had no trades\n")
        return 0
    sys.stdout.write(f"{counted(len(days), 'partition')}: {_span(days)}\n")
    frame, shown = _newest_rows(ctx, days, args.rows)
    total = sum(records[d].row_count if d in records else 0 for d in days)
    total = max(total, len(frame))
    sys.stdout.write(f"last {len(frame)} of {counted(total, 'row')} ({_span(shown)}):\n")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        sys.stdout.write(frame.to_string(index=False, na_rep="null") + "\n")
    return 0


def _newest_rows(
    ctx: StepContext, days: list[dt.date], count: int
) -> tuple[pd.DataFrame, list[dt.date]]:
    """The last `count` rows of the newest partitions (read newest first, as few as needed), and
    the dates they come from."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    frames: list[pd.DataFrame] = []
    read = 0
    for day in reversed(days):
        prefix = ctx.layout.partition_prefix(day)
        for info in ctx.target.list(prefix):
            if not info.key.endswith(".parquet"):
                continue
            table = pq.read_table(io.BytesIO(ctx.target.get(info.key).data))
            table = table.append_column("date", pa.array([day.isoformat()] * table.num_rows))
            frames.insert(0, table.to_pandas())
            read += table.num_rows
        if read >= count:
            break
    frame = pd.concat(frames).tail(count) if frames else pd.DataFrame()
    shown = sorted({dt.date.fromisoformat(d) for d in frame["date"]}) if read else days[-1:]
    return frame, shown


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(STEP, build_parser(), argv, _run)
