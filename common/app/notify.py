"""Notify: post a JSON summary of a finished workflow to a webhook, if one is configured."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from common.app.context import Pipeline
from common.errors import ObjectNotFoundError, StorageTransientError

log = logging.getLogger(__name__)


def summary(pipeline: Pipeline, *, status: str, failures: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "pipeline": "xetra-etl",
        "run_id": pipeline.run_id,
        "status": status,
        "failures": failures,
    }
    try:
        report = json.loads(
            pipeline.target.get(pipeline.layout.run_report_key(pipeline.run_id)).data
        )
        payload.update(
            dates_done=report["done"], dates_failed=report["failed"], rows=report["rows"]
        )
    except ObjectNotFoundError:
        payload["dates_done"] = None  # merge did not run: the run failed before the fan-in
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
