"""xetra-notify: the exit hook; posts the workflow's status and failures to a webhook."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence

from xetra_etl.common.app.notify import parse_failures, post, summary
from xetra_etl.common.entrypoints.entry import build_context, run_step, write_output
from xetra_etl.common.infra.config import Config
from xetra_etl.steps.args import add_config_arg, add_out_arg, add_run_id_arg

STEP = "notify"
WEBHOOK_ENV = "XETRA_WEBHOOK_URL"
log = logging.getLogger(__name__)


def build_parser(prog: str = "xetra-etl notify") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=f"Post a JSON summary of the run to the webhook in ${WEBHOOK_ENV}; "
        "does nothing when it is not set.",
    )
    add_config_arg(parser)
    add_run_id_arg(parser, required=True)
    parser.add_argument("--status", required=True, help="the workflow status (Succeeded, Failed…)")
    parser.add_argument("--failures", default="", help="the workflow failures, as Argo gives them")
    add_out_arg(parser)
    return parser


def _run(args: argparse.Namespace, config: Config) -> int:
    url = os.environ.get(WEBHOOK_ENV, "").strip()
    payload = summary(
        build_context(config, args.run_id),
        status=args.status,
        failures=parse_failures(args.failures),
    )
    if not url:
        log.info("no webhook configured (%s is empty); nothing to notify", WEBHOOK_ENV)
        write_output(args.out, {"sent": False, **payload})
        return 0
    status = post(url, payload)
    log.info("notified the webhook (HTTP %d): run %s", status, args.status)
    write_output(args.out, {"sent": True, **payload})
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(STEP, build_parser(), argv, _run)


if __name__ == "__main__":
    raise SystemExit(main())
