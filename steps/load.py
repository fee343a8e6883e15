"""xetra-etl load: write a work item's partitions, then mark its dates done."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from xetra_etl.common.entrypoints.entry import run_date_step
from xetra_etl.common.infra.tuning import tune_data_process
from xetra_etl.steps.args import date_step_parser

STEP = "load"
DESCRIPTION = (
    "Write each date's staged report as its Hive partition, then mark the date done in job control."
)


def build_parser(prog: str = "xetra-etl load") -> argparse.ArgumentParser:
    return date_step_parser(prog, DESCRIPTION)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)  # --help and usage errors first: they need no data packages
    tune_data_process()
    from xetra_etl.common.app.load import load

    return run_date_step(STEP, parser, argv, load)


if __name__ == "__main__":
    raise SystemExit(main())
