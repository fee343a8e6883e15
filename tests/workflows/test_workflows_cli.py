"""`xetra-etl workflows render` and `xetra-etl argo ...`: thin, documented, clear exit codes."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.workflows.argo_fakes import FakeArgo
from xetra_etl.workflows.cli import build_parser, main
from xetra_etl.workflows.render import MANIFESTS_DIR

SUBCOMMANDS = ("render", "apply", "lint", "submit", "backfill", "retry")


def _xetra_etl() -> str:
    script = shutil.which("xetra-etl", path=str(Path(sys.executable).parent))
    assert script, "xetra-etl is not installed next to the interpreter; run `make install`"
    return script


def _fake_factory(fake: FakeArgo, seen: list[str]) -> Any:
    def factory(namespace: str) -> FakeArgo:
        seen.append(namespace)
        return fake

    return factory


def test_render_writes_committed_manifests_when_given_defaults(tmp_path: Path) -> None:
    assert main(["render", "--out", str(tmp_path / "out")]) == 0
    written = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "out").iterdir()}
    committed = {p.name: p.read_text(encoding="utf-8") for p in MANIFESTS_DIR.glob("*.yaml")}
    assert written == committed


def test_render_applies_registry_tag_and_namespace_when_given(tmp_path: Path) -> None:
    argv = ["workflows", "render", "--out", str(tmp_path), "--registry", "reg.example/x"]
    assert main([*argv, "--tag", "1.2.3", "--namespace", "etl"]) == 0
    docs = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(tmp_path.iterdir())]
    assert {d["metadata"]["namespace"] for d in docs} == {"etl"}
    library = next(d for d in docs if d["metadata"]["name"] == "xetra-etl-steps")
    images = {t["container"]["image"] for t in library["spec"]["templates"]}
    assert "reg.example/x/extract:1.2.3" in images


def test_every_subcommand_has_help_text_when_listed() -> None:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(sub.choices) == set(SUBCOMMANDS)
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    assert all(helps[name] for name in SUBCOMMANDS)
    for name, subparser in sub.choices.items():
        for action in subparser._actions:
            assert action.help, f"{name} {action.dest} has no help"


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_subcommand_help_exits_zero_when_asked(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--help"]) == 0
    assert "usage:" in capsys.readouterr().out


def test_argo_command_exits_78_when_argo_server_is_unset(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ARGO_SERVER", raising=False)
    assert main(["argo", "retry", "xetra-etl-abc"]) == 78
    assert "ARGO_SERVER" in capsys.readouterr().err


def test_submit_passes_dates_and_namespace_when_given(capsys: pytest.CaptureFixture[str]) -> None:
    fake, seen = FakeArgo(), list[str]()
    argv = ["argo", "submit", "--first-date", "2017-07-03", "--last-date", "2017-07-07"]
    code = main([*argv, "--namespace", "etl"], api_factory=_fake_factory(fake, seen))
    assert code == 0
    assert seen == ["etl"]
    ((_, req),) = fake.calls
    assert req.submit_options.parameters == ["first-date=2017-07-03", "last-date=2017-07-07"]
    assert capsys.readouterr().out == "submitted xetra-etl-1\n"


def test_submit_rejects_bad_date_when_not_iso(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["submit", "--first-date", "03.07.2017"], api_factory=_fake_factory(FakeArgo(), []))
        == 2
    )
    assert "not a date" in capsys.readouterr().err


def test_backfill_submits_one_run_per_month_when_range_spans_months() -> None:
    fake = FakeArgo()
    argv = ["argo", "backfill", "--from", "2017-06-26", "--to", "2017-09-05", "--chunk-size", "5"]
    assert main(argv, api_factory=_fake_factory(fake, [])) == 0
    assert [name for name, _ in fake.calls] == ["submit_workflow"] * 4


def test_backfill_is_a_usage_error_when_range_is_reversed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = FakeArgo()
    argv = ["backfill", "--from", "2017-09-05", "--to", "2017-06-26"]
    assert main(argv, api_factory=_fake_factory(fake, [])) == 2
    assert "first date 2017-09-05 is after last date 2017-06-26" in capsys.readouterr().err
    assert fake.calls == []


def test_retry_retries_named_workflow_when_called(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeArgo()
    assert main(["argo", "retry", "xetra-etl-abc"], api_factory=_fake_factory(fake, [])) == 0
    assert capsys.readouterr().out == "retried xetra-etl-abc\n"


def test_apply_exits_75_when_server_is_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    import requests

    class Down(FakeArgo):
        def create_workflow_template(self, req: Any, namespace: str | None = None) -> Any:
            raise requests.ConnectionError("connection refused")

    assert main(["argo", "apply"], api_factory=_fake_factory(Down(), [])) == 75
    assert "connection refused" in capsys.readouterr().err


def test_lint_prints_each_valid_document_and_exits_0_when_server_accepts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: list[str] = []
    assert (
        main(["argo", "lint", "--namespace", "etl"], api_factory=_fake_factory(FakeArgo(), seen))
        == 0
    )
    assert seen == ["etl"]
    assert capsys.readouterr().out.splitlines() == [
        "valid WorkflowTemplate/xetra-etl-steps",
        "valid WorkflowTemplate/xetra-etl",
        "valid CronWorkflow/xetra-etl-weekly",
    ]


def test_lint_exits_1_naming_the_document_and_the_problem_when_server_rejects(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = FakeArgo(rejected={"xetra-etl-weekly": "spec.schedules[0]: expected 5 fields"})
    assert main(["argo", "lint"], api_factory=_fake_factory(fake, [])) == 1
    out, err = capsys.readouterr()
    assert "valid WorkflowTemplate/xetra-etl\n" in out
    assert "CronWorkflow/xetra-etl-weekly: spec.schedules[0]: expected 5 fields" in err


def test_lint_exits_75_saying_what_to_check_when_server_is_unreachable() -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "ARGO_SERVER": f"127.0.0.1:{port}", "ARGO_SECURE": "false"}
    result = subprocess.run(
        [_xetra_etl(), "argo", "lint"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 75, result.stderr
    assert result.stdout == ""
    assert f"no answer from http://127.0.0.1:{port}/api/v1/workflow-templates/" in result.stderr
    assert "ARGO_SERVER" in result.stderr and "try again" in result.stderr


class _Unavailable(BaseHTTPRequestHandler):
    """Answers every request 503, as an ingress or a port-forward does when argo-server is down."""

    def _answer(self) -> None:
        self.send_response(503)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"no endpoints available for service argo-server")

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize("command", ["lint", "apply"])
def test_server_command_exits_75_when_server_answers_503(command: str) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {
            **os.environ,
            "ARGO_SERVER": f"127.0.0.1:{server.server_port}",
            "ARGO_SECURE": "false",
        }
        result = subprocess.run(
            [_xetra_etl(), "argo", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert result.returncode == 75, result.stderr
    assert "answered 503" in result.stderr and "try again" in result.stderr


def test_help_says_how_to_reach_a_port_forwarded_server_when_shown() -> None:
    # argo-server's certificate is self-signed (docs/tls.md); the CLI honours the argo CLI's
    # ARGO_INSECURE_SKIP_VERIFY, and its help must say so.
    text = " ".join(build_parser().format_help().split())
    assert "ARGO_INSECURE_SKIP_VERIFY=true" in text
