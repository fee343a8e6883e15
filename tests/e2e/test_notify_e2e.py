"""notify names every failed date whatever the size of `{{workflow.failures}}`: the per-date
steps leave failure records in the target, and an offloaded argument (`@/tmp/argo_arg_N.txt`,
what the emissary passes over 128 KiB) is read from its file."""

from __future__ import annotations

import json
from typing import Any

from tests.argo_sim import go_quote, pod_name
from tests.e2e.conftest import Place
from tests.workflows.test_argo_execution import _spoil_one_price

RUN = "xetra-etl-big"
SPOILED = ["2021-03-04", "2021-03-05"]
MAX_ARG = 131072  # common.MaxEnvVarLen (workflow/common/common.go, v4.0.5)


def _failures_of(dates: list[str]) -> str:
    """`{{workflow.failures}}` with one failed extract per date, as `operate` builds it."""
    nodes: list[dict[str, Any]] = []
    for index, day in enumerate(dates):
        item = f"process({index}:{day})"
        attempt = f"{RUN}.{item}.extract(0)"
        for display, template, name in (
            ("extract(0)", "extract", attempt),
            ("extract", "extract", f"{RUN}.{item}.extract"),
            (item, "process-dates", f"{RUN}.{item}"),
        ):
            nodes.append(
                {
                    "displayName": display,
                    "message": f"main: Error (exit code 65): {day}: object s3://b/k.csv, line 2, "
                    "column StartPrice: not a number: '1O.25'",
                    "templateName": template,
                    "phase": "Failed",
                    "podName": pod_name(RUN, name, template),
                    "finishedAt": "2021-03-11T06:00:00Z",
                }
            )
    return go_quote(json.dumps(nodes, separators=(",", ":")))


def test_notify_names_every_failed_date_when_workflow_failures_were_offloaded_to_a_file(
    local_place: Place,
) -> None:
    place = local_place
    config = place.write_config()
    for day in SPOILED:
        _spoil_one_price(place, day)
        pod = f"{RUN}-extract-{day}"
        result = place.cli(
            "extract", "--config", str(config), "--dates", day, "--run-id", RUN,
            env={"XETRA_POD_NAME": pod},
        )  # fmt: skip
        assert result.returncode == 65, result.stderr[-2000:]
    others = [f"2019-{month:02d}-{day:02d}" for month in range(1, 13) for day in range(1, 22)]
    failures = _failures_of(others)
    assert len(failures) > MAX_ARG  # the controller offloads it; the emissary passes @file
    offloaded = place.tmp / "argo_arg_5.txt"
    offloaded.write_text(failures)
    out = place.tmp / "summary.json"
    result = place.cli(
        "notify", "--config", str(config), "--run-id", RUN, "--status", "Failed",
        "--failures", f"@{offloaded}", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(out.read_text())
    by_date = {entry["date"]: entry for entry in summary["failed_dates"]}
    assert sorted(by_date) == sorted([*SPOILED, *others])
    for day in SPOILED:
        entry = by_date[day]
        assert entry["source"] == "failure-record"
        assert (entry["step"], entry["pod"], entry["exit_code"]) == (
            "extract", f"{RUN}-extract-{day}", 65,
        )  # fmt: skip
        assert "1O.25" in entry["message"]
    assert by_date[others[0]]["source"] == "workflow.failures"
    assert by_date[others[0]]["step"] == "extract"


def test_notify_names_failed_dates_from_their_records_when_given_no_workflow_failures(
    local_place: Place,
) -> None:
    place = local_place
    config = place.write_config()
    _spoil_one_price(place, SPOILED[0])
    failed = place.cli("extract", "--config", str(config), "--dates", SPOILED[0], "--run-id", RUN)
    assert failed.returncode == 65
    out = place.tmp / "summary.json"
    result = place.cli(
        "notify", "--config", str(config), "--run-id", RUN, "--status", "Failed",
        "--failures", '"null"', "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    (entry,) = json.loads(out.read_text())["failed_dates"]
    assert (entry["date"], entry["step"], entry["pod"]) == (SPOILED[0], "extract", None)
