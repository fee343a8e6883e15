"""xetra-etl show: print a few rows of the report dataset (what `make demo` ends with)."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence

from xetra_etl.common.entrypoints.entry import (
    add_config_arg,
    build_context,
    optional_date_arg,
    positive_int,
    run_step,
)
from xetra_etl.common.infra.config import Config
from xetra_etl.common.infra.errors import InputMissingError

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


def _run(args: argparse.Namespace, config: Config) -> int:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    ctx = build_context(config, "show")
    prefix = f"{ctx.layout.report_prefix}/"
    if args.date is not None:
        prefix = ctx.layout.partition_prefix(args.date)
    keys = [o.key for o in ctx.target.list(prefix) if o.key.endswith(".parquet")]
    if args.date is not None and not keys:
        raise InputMissingError(
            f"no report partition for {args.date}: nothing under {ctx.target.location(prefix)}"
            " (see `xetra-etl status` for the dates processed)"
        )
    sys.stdout.write(f"report dataset: {ctx.target.location(ctx.layout.report_prefix)}\n")
    sys.stdout.write(f"{len(keys)} partition(s)\n")
    frames = []
    for key in keys[-3:]:
        table = pq.read_table(io.BytesIO(ctx.target.get(key).data))
        partition = key.split("date=")[1].split("/")[0]
        frames.append(
            table.append_column("date", pa.array([partition] * table.num_rows)).to_pandas()
        )
    if frames:
        frame = pd.concat(frames).tail(args.rows)
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            sys.stdout.write(frame.to_string(index=False, na_rep="null") + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(STEP, build_parser(), argv, _run)
