"""`xetra-etl workflows render ...` and `xetra-etl argo apply|lint|submit|backfill|retry ...`.

A thin layer: parse arguments, call `workflows.render` or `workflows.operations`, turn errors into
a message on stderr and an exit code (0 ok, 2 usage, 75 transient server trouble, 78 missing
ARGO_SERVER, 1 a document the server's lint rejects or any other refusal by the server). Results
go to stdout, one line each.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from xetra_etl.common.domain.dates import date_range_problem
from xetra_etl.common.infra.errors import ExitCode
from xetra_etl.common.infra.naming import DEFAULT_REGISTRY, version
from xetra_etl.workflows.backfill import month_windows
from xetra_etl.workflows.settings import DEFAULT_NAMESPACE, RenderSettings

if TYPE_CHECKING:
    # Rendering and the server need hera (the `argo` extra); --help does not.
    from hera.workflows import WorkflowsService

ApiFactory = Callable[[str], "WorkflowsService"]

# The command groups steps/cli.py forwards here; accepted as a first word and ignored.
GROUP_WORDS = ("workflows", "argo")
# The server refused a request, or its lint a document, for a reason a retry will not change:
# not one of the pipeline's own exit codes, which say what is wrong with the data, the config or
# the network.
REFUSED = 1
TRY_AGAIN = (
    "; check that ARGO_SERVER names a running argo-server (and its port-forward), then try again"
)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _add_render_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--registry", default=DEFAULT_REGISTRY, help="image registry prefix")
    parser.add_argument("--tag", default=None, help="image tag (default: package version)")


def _add_namespace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--namespace", default=DEFAULT_NAMESPACE, help=f"namespace (default {DEFAULT_NAMESPACE})"
    )


def build_parser(prog: str = "xetra-etl argo") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Render the Argo manifests and run the pipeline on an Argo server "
        "(server from ARGO_SERVER, token from ARGO_TOKEN). A port-forwarded argo-server "
        "(minikube) serves a self-signed certificate: set ARGO_INSECURE_SKIP_VERIFY=true.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = sub.add_parser("render", help="write every manifest as YAML, one file per document")
    render.add_argument("--out", type=Path, required=True, help="directory to write into")
    _add_render_options(render)
    _add_namespace(render)

    apply = sub.add_parser("apply", help="create or update the templates and the cron workflow")
    _add_render_options(apply)
    _add_namespace(apply)

    lint = sub.add_parser(
        "lint", help="lint every document on the server (what they refer to must be applied)"
    )
    _add_render_options(lint)
    _add_namespace(lint)

    submit = sub.add_parser("submit", help="start one run of the pipeline template")
    submit.add_argument("--first-date", type=_iso_date, help="first date (default: config)")
    submit.add_argument("--last-date", type=_iso_date, help="last date (default: today)")
    submit.add_argument("--chunk-size", type=_positive_int, default=None, help="dates per item")
    _add_namespace(submit)

    backfill = sub.add_parser("backfill", help="submit one run per calendar month of a range")
    backfill.add_argument("--from", dest="first", type=_iso_date, required=True, help="first date")
    backfill.add_argument("--to", dest="last", type=_iso_date, required=True, help="last date")
    backfill.add_argument("--chunk-size", type=_positive_int, default=None, help="dates per item")
    _add_namespace(backfill)

    retry = sub.add_parser("retry", help="rerun the failed dates of a workflow, then merge")
    retry.add_argument("name", help="workflow name")
    _add_namespace(retry)
    return parser


def _date_range_problem(args: argparse.Namespace) -> str | None:
    """The rule `xetra-etl run` applies to its range: empty or future is a usage error."""
    first = getattr(args, "first", None) or getattr(args, "first_date", None)
    last = getattr(args, "last", None) or getattr(args, "last_date", None)
    if not first:
        return None
    today = datetime.now(UTC).date()
    return date_range_problem(
        date.fromisoformat(first), date.fromisoformat(last) if last else None, today
    )


def _settings(args: argparse.Namespace) -> RenderSettings:
    return RenderSettings(
        registry=args.registry, tag=args.tag or version(), namespace=args.namespace
    )


def _default_api_factory(namespace: str) -> WorkflowsService:
    from xetra_etl.workflows.operations import environment, service_from_env

    return service_from_env(environment(), namespace)


def _run_operation(args: argparse.Namespace, api_factory: ApiFactory) -> list[str]:
    from xetra_etl.workflows.operations import ArgoOperations, backfill_requests, submit_request
    from xetra_etl.workflows.render import documents

    ops = ArgoOperations(api=api_factory(args.namespace), namespace=args.namespace)
    if args.command == "apply":
        return ops.apply(documents(_settings(args)))
    if args.command == "lint":
        return ops.lint(documents(_settings(args)))
    if args.command == "submit":
        req = submit_request(
            args.namespace,
            first_date=args.first_date or "",
            last_date=args.last_date or "",
            chunk_size=args.chunk_size,
        )
        return [f"submitted {name}" for name in ops.submit([req])]
    if args.command == "backfill":
        windows = month_windows(date.fromisoformat(args.first), date.fromisoformat(args.last))
        reqs = backfill_requests(args.namespace, windows, chunk_size=args.chunk_size)
        return [f"submitted {name}" for name in ops.submit(reqs)]
    if args.command == "retry":
        return [f"retried {ops.retry(args.name)}"]
    raise AssertionError(f"unhandled command {args.command}")


def _exit_code_for(exc: Exception) -> int:
    from hera.exceptions import HeraException
    from requests import ConnectionError, Timeout

    from xetra_etl.workflows.operations import ServerTrouble

    if isinstance(exc, ConnectionError | Timeout | ServerTrouble):
        return ExitCode.TEMPORARY
    if isinstance(exc, HeraException) and getattr(exc, "status_code", 0) >= 500:
        return ExitCode.TEMPORARY
    return REFUSED


def _reason(exc: Exception, code: int) -> str:
    """The error, with the URL that did not answer and what to check when a retry may help."""
    if code != ExitCode.TEMPORARY:
        return str(exc)
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    return f"{f'no answer from {url}: ' if url else ''}{exc}{TRY_AGAIN}"


def main(argv: Sequence[str] | None = None, *, api_factory: ApiFactory | None = None) -> int:
    """Entry point; `argv` excludes the program name (a leading `argo`/`workflows` is skipped)."""
    parsed = _parse(list(sys.argv[1:] if argv is None else argv))
    if isinstance(parsed, int):
        return parsed
    if parsed.command == "render":
        from xetra_etl.workflows.render import write_manifests

        for path in write_manifests(parsed.out, _settings(parsed)):
            print(path)
        return ExitCode.OK
    return _operate(parsed, api_factory or _default_api_factory)


def _parse(args_list: list[str]) -> argparse.Namespace | int:
    """The parsed command line, or the exit code argparse chose (0 for --help, 2 for usage)."""
    group = "argo"
    if args_list and args_list[0] in GROUP_WORDS:
        group, args_list = args_list[0], args_list[1:]
    parser = build_parser(f"xetra-etl {group}")
    try:
        args = parser.parse_args(args_list)
        problem = _date_range_problem(args)
        if problem:
            parser.error(problem)
    except SystemExit as exc:
        return int(exc.code or 0)
    return args


def _operate(args: argparse.Namespace, api_factory: ApiFactory) -> int:
    """Run a server command, its result on stdout, a failure on stderr with its exit code."""
    from xetra_etl.workflows.operations import ArgoConfigError, LintFailed

    try:
        for line in _run_operation(args, api_factory):
            print(line)
    except LintFailed as exc:
        print(*exc.valid, sep="\n", end="\n" if exc.valid else "")
        for problem in exc.problems:
            print(f"error: lint: {problem}", file=sys.stderr)
        return REFUSED
    except ArgoConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.USAGE  # as argparse exits for one
    except Exception as exc:
        code = _exit_code_for(exc)
        print(f"error: argo {args.command} failed: {_reason(exc, code)}", file=sys.stderr)
        return code
    return ExitCode.OK


if __name__ == "__main__":
    raise SystemExit(main())
