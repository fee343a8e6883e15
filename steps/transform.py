"""xetra-etl transform: compute a work item's report rows and stage them for load."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from xetra_etl.common.entrypoints.entry import run_date_step
from xetra_etl.common.infra.tuning import tune_data_process
from xetra_etl.steps.args import date_step_parser

STEP = "transform"
DESCRIPTION = (
    "Compute each date's report rows from its aggregates and its previous-close "
    "window; stage them for load."
)


def build_parser(prog: str = "xetra-etl transform") -> argparse.ArgumentParser:
    return date_step_parser(prog, DESCRIPTION)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)  # --help and usage errors first: they need no data packages
    tune_data_process()
    from xetra_etl.common.app.transform import transform

    return run_date_step(STEP, parser, argv, transform)


if __name__ == "__main__":
    raise SystemExit(main())
