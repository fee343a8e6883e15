"""xetra-etl discover: write the JSON list of work items (dates that need work) for the fan-out."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from xetra_etl.common.app.discover import discover
from xetra_etl.common.entrypoints.entry import build_context, run_step, write_output
from xetra_etl.common.infra.config import Config
from xetra_etl.steps.args import (
    add_config_arg,
    add_date_range_args,
    add_run_id_arg,
    positive_int,
    run_date_range,
)

STEP = "discover"


def build_parser(prog: str = "xetra-etl discover") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="List the source and job control; write the dates that need work "
        "(new, changed, or whose previous-close input changed) as a JSON list.",
    )
    add_config_arg(parser)
    add_run_id_arg(parser, required=False)
    add_date_range_args(
        parser,
        first="default (or empty): pipeline.first_date",
        last="default (or empty): today, UTC",
    )
    parser.add_argument(
        "--chunk-size",
        type=_optional_positive_int,
        default=None,
        metavar="N",
        help="dates per work item (default, or empty: pipeline.chunk_size)",
    )
    parser.add_argument(
        "--max-items",
        type=_optional_positive_int,
        default=None,
        metavar="N",
        help="at most this many work items; later dates wait for the next run "
        "(default, or empty: pipeline.max_items_per_run)",
    )
    parser.add_argument(
        "--dates-out", required=True, metavar="PATH", help="write the JSON list of items here"
    )
    parser.add_argument("--summary-out", metavar="PATH", help="write a JSON summary here")
    return parser


def _optional_positive_int(text: str) -> int | None:
    """A whole number >= 1; empty (an Argo parameter left at its default) means the config's."""
    return positive_int(text) if text.strip() else None


def _run(args: argparse.Namespace, config: Config) -> int:
    first, last = run_date_range(args, config)
    chunk = args.chunk_size or config.pipeline.chunk_size
    max_items = args.max_items or config.pipeline.max_items_per_run
    plan = discover(
        build_context(config, args.run_id),
        first=first,
        last=last,
        chunk_size=chunk,
        max_items=max_items,
    )
    write_output(args.dates_out, plan.items)
    write_output(
        args.summary_out,
        {
            "run_id": plan.run_id,
            "dates": len(plan.reasons),
            "items": len(plan.items),
            "skipped": plan.skipped,
            "first_date": plan.first_date,
            "last_date": plan.last_date,
            "source_freshness": plan.source_freshness,
            "chunk_size": chunk,
            "deferred_dates": int(plan.extra.get("deferred_dates", 0)),
            "deferred_from": plan.extra.get("deferred_from"),
        },
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(STEP, build_parser(), argv, _run)


if __name__ == "__main__":
    raise SystemExit(main())
