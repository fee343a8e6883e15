"""discover's work items: the config's chunk size unless the Argo parameter gives one (the
pipeline passes an empty `--chunk-size` by default), and at most `pipeline.max_items_per_run`
items per run, the newer dates deferred to the next run and said so."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import FIRST, LAST, Place


def _discover(place: Place, *, chunk: str, **pipeline: Any) -> tuple[list[str], dict[str, Any]]:
    config = place.write_config(pipeline=pipeline)
    dates, summary = place.tmp / "dates.json", place.tmp / "summary.json"
    result = place.cli(
        "discover", "--config", str(config), "--last-date", LAST.isoformat(), "--run-id", "r1",
        "--chunk-size", chunk, "--dates-out", str(dates), "--summary-out", str(summary),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(dates.read_text()), json.loads(summary.read_text())


def test_discover_takes_the_configs_chunk_size_when_the_parameter_is_empty(
    local_place: Place,
) -> None:
    items, summary = _discover(local_place, chunk="", chunk_size=3)
    assert summary["chunk_size"] == 3
    assert all(len(item.split(",")) <= 3 for item in items)
    assert len(items) == -(-summary["dates"] // 3)


def test_discover_takes_the_parameters_chunk_size_over_the_config_when_given(
    local_place: Place,
) -> None:
    items, summary = _discover(local_place, chunk="2", chunk_size=3)
    assert summary["chunk_size"] == 2 and len(items) == -(-summary["dates"] // 2)


def test_discover_defers_dates_beyond_the_item_bound_to_the_next_run_and_says_so(
    local_place: Place,
) -> None:
    everything, _ = _discover(local_place, chunk="")
    items, summary = _discover(local_place, chunk="", max_items_per_run=2)
    assert items == everything[:2]
    assert summary["dates"] == 2 and summary["deferred_dates"] == len(everything) - 2
    assert summary["deferred_from"] == everything[2]
    log = local_place.runs[-1].stderr
    assert "defers" in log and "to the next run" in log
    assert FIRST.isoformat() <= summary["deferred_from"] <= LAST.isoformat()
