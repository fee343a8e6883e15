"""xetra-etl merge: record the run in job control, rebuild the meta file, write the run summary."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from xetra_etl.common.app.merge import merge
from xetra_etl.common.entrypoints.entry import build_context, run_step, write_output
from xetra_etl.common.infra.config import Config
from xetra_etl.steps.args import add_config_arg, add_out_arg, add_run_id_arg

STEP = "merge"


def build_parser(prog: str = "xetra-etl merge") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Fan-in after every date: record the run in job control, rebuild the meta "
        "file and write the run summary (dates, rows, timings, failures) into the target.",
    )
    add_config_arg(parser)
    add_run_id_arg(parser, required=True)
    add_out_arg(parser)
    return parser


def _run(args: argparse.Namespace, config: Config) -> int:
    summary = merge(build_context(config, args.run_id))
    write_output(
        args.out,
        {
            "run_id": summary.run_id,
            "done": summary.done,
            "failed": summary.failed,
            "rows": summary.rows,
            "skipped": summary.skipped,
        },
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(STEP, build_parser(), argv, _run)


if __name__ == "__main__":
    raise SystemExit(main())
