"""xetra-load: write a work item's partitions, then mark its dates done."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from common.app.context import for_each_date
from common.app.load import load
from common.config import Config
from common.entry import (
    add_config_arg,
    add_dates_arg,
    add_out_arg,
    add_run_id_arg,
    build_pipeline,
    dates_of,
    run_step,
    write_output,
)

STEP = "load"


def build_parser(prog: str = "xetra-load") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Write each date's staged report as its Hive partition, then mark the date "
            "done in job control."
        ),
    )
    add_config_arg(parser)
    add_dates_arg(parser)
    add_run_id_arg(parser, required=True)
    add_out_arg(parser)
    return parser


def _run(args: argparse.Namespace, config: Config) -> int:
    pipeline = build_pipeline(config, args.run_id)
    results = for_each_date(pipeline, dates_of(args), lambda day: load(pipeline, day))
    write_output(args.out, {day.isoformat(): vars(result) for day, result in results.items()})
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(STEP, build_parser(), argv, _run)


if __name__ == "__main__":
    raise SystemExit(main())
