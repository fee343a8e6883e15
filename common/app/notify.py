"""Notify: post a JSON summary of a finished workflow to a webhook, if one is configured.

`failed_dates` comes first from the failure records the per-date steps write
(`failure_records`), whose size does not grow with the run; `{{workflow.failures}}` fills in
dates without a record (a pod killed before it could write one).

What Argo hands the exit handler as `{{workflow.failures}}` (operator.go `operate`, v4.0.10) is a
`strconv.Quote`d JSON list of *every* Failed or Error node, in no particular order: for one failed
date the pod attempt `extract(0)`, the Retry node `extract`, the item DAG
`process(1:2021-01-05)`, the TaskGroup `process` and the root DAG. `failed_dates` turns that into
one entry per failed date: the date comes from the item DAG's name (`generateNodeName` prints the
item there), and the failed step, its message and its pod from the pod attempt under that item,
recognised by its pod name (`GeneratePodName`: workflow, template and the FNV-32a hash of the
node name).
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from xetra_etl.common.app.context import StepContext
from xetra_etl.common.app.failure_records import FailureRecord, read_failure_records
from xetra_etl.common.domain.wording import counted
from xetra_etl.common.infra.errors import ObjectNotFoundError, StorageTransientError

log = logging.getLogger(__name__)

_ITEM = re.compile(r"^[^()]+\((\d+):(.*)\)$", re.DOTALL)  # process(1:2021-01-05)
_ATTEMPT = re.compile(r"^([^()]+)\((\d+)\)$")  # extract(0)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
OOM_KILLED = "OOMKilled"  # the terminated reason in "main: OOMKilled (exit code 137)"


def parse_failures(text: str) -> list[dict[str, Any]]:
    """`{{workflow.failures}}`: a quoted JSON list (`"null"` when nothing failed); also unquoted.

    Over 128 KiB the emissary passes `@<file>` holding the argument instead (`@/tmp/argo_arg_N.txt`,
    cmd/argoexec/commands/emissary.go, v4.0.5): the list is read from that file.
    """
    if text.startswith("omitted:"):  # the pipeline passes the list only while it is small
        log.info("the workflow's failures were not passed (%s): failure records only", text)
        return []
    value: Any = _offloaded(text)
    for _ in range(2):
        if not isinstance(value, str) or not value.strip():
            break
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            break
    if isinstance(value, list):
        return [entry for entry in value if isinstance(entry, dict)]
    return []


def _offloaded(text: str) -> str:
    if not text.startswith("@/"):
        return text
    try:
        return Path(text[1:]).read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("cannot read the offloaded workflow failures %s: %s", text[1:], exc)
        return ""


def fnv32a(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def pod_name(workflow: str, node_name: str, template: str) -> str:
    """Argo's pod name of a node (`GeneratePodName`, pod names v2, workflow/util/pod_name.go)."""
    prefix = f"{workflow}-{template}" if template else workflow
    return f"{prefix[:242]}-{fnv32a(node_name)}"


def _failed_attempt(
    item: dict[str, Any], attempts: list[dict[str, Any]], workflow: str
) -> dict[str, Any] | None:
    """The latest failed pod attempt that ran inside this work item, if any."""
    item_node = f"{workflow}.{item['displayName']}"
    found: list[tuple[int, dict[str, Any]]] = []
    for entry in attempts:
        match = _ATTEMPT.match(str(entry.get("displayName", "")))
        if not match:
            continue
        step, number = match.group(1), int(match.group(2))
        node = f"{item_node}.{step}({number})"
        if entry.get("podName") == pod_name(workflow, node, str(entry.get("templateName", ""))):
            found.append((number, entry))
    return max(found, key=lambda pair: pair[0])[1] if found else None


def failed_dates(failures: list[dict[str, Any]], workflow: str) -> list[dict[str, Any]]:
    """One entry per failed date (sorted): date, step, message, pod, and the work item."""
    items = [f for f in failures if _ITEM.match(str(f.get("displayName", "")))]
    attempts = [f for f in failures if _ATTEMPT.match(str(f.get("displayName", "")))]
    result: dict[str, dict[str, Any]] = {}
    for item in items:
        text = _ITEM.match(str(item["displayName"])).group(2)  # type: ignore[union-attr]
        attempt = _failed_attempt(item, attempts, workflow)
        for day in _DATE.findall(text):
            result.setdefault(
                day,
                {
                    "date": day,
                    "step": attempt["templateName"] if attempt else None,
                    "message": attempt["message"] if attempt else item.get("message", ""),
                    "pod": attempt["podName"] if attempt else None,
                    "phase": attempt["phase"] if attempt else item.get("phase"),
                    "item": text,
                },
            )
    return [result[day] for day in sorted(result)]


def _with_hint(entry: dict[str, Any]) -> dict[str, Any]:
    if OOM_KILLED in str(entry.get("message") or ""):
        step = entry.get("step") or "the step"
        entry["hint"] = (
            f"{step} was killed at its memory limit and is not retried: raise its memory limit "
            "(STEP_RESOURCES in workflows/settings.py, then `make render` and apply)"
        )
    return entry


def run_failed_dates(
    ctx: StepContext, failures: list[dict[str, Any]], records: list[FailureRecord]
) -> list[dict[str, Any]]:
    """One entry per failed date: from the steps' failure records, else (a pod killed before it
    could write one: OOM, eviction) from `{{workflow.failures}}`."""
    result = {
        r.date: {
            "date": r.date,
            "step": r.step,
            "message": r.message,
            "pod": r.pod,
            "exit_code": r.exit_code,
            "source": "failure-record",
        }
        for r in records
    }
    for entry in failed_dates(failures, ctx.run_id):
        result.setdefault(entry["date"], {**entry, "source": "workflow.failures"})
    return [_with_hint(result[day]) for day in sorted(result)]


def summary(ctx: StepContext, *, status: str, failures: Any) -> dict[str, Any]:
    """The webhook payload; `failures` is Argo's list as given, `failed_dates` one per date."""
    raw = failures if isinstance(failures, list) else parse_failures(str(failures or ""))
    records = [] if status == "Succeeded" else read_failure_records(ctx)
    dated = run_failed_dates(ctx, raw, records)
    log.info(
        "%s: %d from failure records, %d from the workflow's failures",
        counted(len(dated), "failed date"),
        len(records),
        len(dated) - len(records),
    )
    payload: dict[str, Any] = {
        "pipeline": "xetra-etl",
        "run_id": ctx.run_id,
        "status": status,
        "failed_dates": dated,
        "failures": raw,
    }
    try:
        summary = json.loads(ctx.target.get(ctx.layout.run_summary_key(ctx.run_id)).data)
        payload.update(
            dates_done=summary["done"], dates_failed=summary["failed"], rows=summary["rows"]
        )
        payload["source_freshness"] = summary.get("extra", {}).get("source_freshness")
    except ObjectNotFoundError:
        payload["dates_done"] = None  # merge did not run: the run failed before the fan-in
        payload["source_freshness"] = None
    return payload


def post(url: str, payload: dict[str, Any], *, timeout: float = 10.0) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except (urllib.error.URLError, TimeoutError) as exc:
        raise StorageTransientError(f"webhook did not accept the notification: {exc}") from exc
