"""xetra-etl demo-data: write realistic Xetra-format source files into a directory or bucket."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from xetra_etl.common.domain.wording import counted
from xetra_etl.common.entrypoints.entry import exit_code_for
from xetra_etl.common.infra import logs
from xetra_etl.common.infra.errors import XetraEtlError
from xetra_etl.steps.args import optional_date_arg, positive_int


def build_parser(prog: str = "xetra-etl demo-data") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Write realistic source data: hourly files (header-only outside trading "
        "hours), per-minute files for the newest date, quoted descriptions with commas, "
        "securities that skip days and zero-volume reference rows.",
    )
    parser.add_argument("--out", required=True, help="a directory or s3://bucket/prefix")
    parser.add_argument(
        "--first-date",
        required=True,
        type=optional_date_arg,
        metavar="YYYY-MM-DD",
        help="the first date to write",
    )
    parser.add_argument(
        "--days", type=positive_int, required=True, metavar="N", help="calendar days to write"
    )
    parser.add_argument(
        "--securities", type=positive_int, default=60, metavar="N", help="number of securities"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (output is repeatable)")
    parser.add_argument(
        "--no-minute-files", action="store_true", help="write hourly files for the newest date too"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.configure()
    logs.set_context(step="demo-data")
    try:
        from xetra_etl.common.adapters.storage.factory import open_store
        from xetra_etl.common.adapters.storage.local import LocalStore
        from xetra_etl.common.app.demo_data import generate

        if args.first_date is None:
            parser.error("--first-date: expected YYYY-MM-DD, got an empty value")
        store = (
            open_store(args.out)
            if args.out.startswith("s3://")
            else LocalStore(args.out, durable=False)
        )
        counts = generate(
            store,
            first_date=args.first_date,
            days=args.days,
            securities_count=args.securities,
            seed=args.seed,
            minute_files_for_last=not args.no_minute_files,
        )
        sys.stderr.write(
            f"wrote {counted(counts['dates'], 'date')}, {counted(counts['objects'], 'object')}, "
            f"{counted(counts['rows'], 'row')} "
            f"to {store.uri}\n"
        )
        return 0
    except XetraEtlError as exc:
        sys.stderr.write(f"demo-data failed: {exc}\n")
        return exit_code_for(exc)
