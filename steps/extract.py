"""xetra-etl extract: stage the daily aggregates of a work item's dates."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from xetra_etl.common.entrypoints.entry import run_date_step
from xetra_etl.common.infra.tuning import tune_data_process
from xetra_etl.steps.args import date_step_parser

STEP = "extract"
DESCRIPTION = (
    "Read a work item's source objects and stage each date's daily aggregates "
    "(reused while the source is unchanged)."
)


def build_parser(prog: str = "xetra-etl extract") -> argparse.ArgumentParser:
    return date_step_parser(prog, DESCRIPTION)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)  # --help and usage errors first: they need no data packages
    tune_data_process()
    from xetra_etl.common.app.extract import extract

    return run_date_step(STEP, parser, argv, extract)


if __name__ == "__main__":
    raise SystemExit(main())
