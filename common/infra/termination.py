"""The step's one-line error, written where Kubernetes reads a container's termination message.

Argo appends the main container's termination message to the node message
(`inferFailedReason`, workflow/controller/operator.go, v4.0.10), so the red node in the UI and
`{{workflow.failures}}` read `main: Error (exit code 65): <this line>` instead of only the exit
code. The kubelet mounts the file at the container's `terminationMessagePath`
(default `/dev/termination-log`) and keeps at most 4096 bytes of it.

Outside a pod the default file does not exist and nothing is written, so a local run never
creates files under /dev. `XETRA_TERMINATION_LOG` names another path (tests, other runtimes).
"""

from __future__ import annotations

import os
from pathlib import Path

TERMINATION_LOG_ENV = "XETRA_TERMINATION_LOG"
DEFAULT_TERMINATION_LOG = "/dev/termination-log"
LIMIT_BYTES = 4096


def one_line(exc: BaseException) -> str:
    """The message, one line: for failed dates each date with its own error."""
    failures = getattr(exc, "failures", None)
    if isinstance(failures, dict) and failures:
        text = "; ".join(f"{day}: {message}" for day, message in sorted(failures.items()))
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _truncate(text: str, limit: int = LIMIT_BYTES) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "..."


def write_termination_message(exc: BaseException) -> None:
    """Best effort: a step that cannot write its message still exits with its own code."""
    configured = os.environ.get(TERMINATION_LOG_ENV)
    path = Path(configured or DEFAULT_TERMINATION_LOG)
    if not configured and not path.exists():
        return
    try:
        path.write_text(_truncate(one_line(exc)), encoding="utf-8")
    except OSError:
        return
