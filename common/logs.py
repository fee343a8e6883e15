"""Logging: standard library, configured once per process, stderr only.

Every line carries the step, the run id and the date being worked on (from context variables).
JSON lines in containers (or when asked), readable text on a terminal. Stdout stays free for
machine output.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

_step: contextvars.ContextVar[str] = contextvars.ContextVar("step", default="-")
_run_id: contextvars.ContextVar[str] = contextvars.ContextVar("run_id", default="-")
_date: contextvars.ContextVar[str] = contextvars.ContextVar("date", default="-")

FORMAT_ENV = "XETRA_LOG_FORMAT"


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.step = _step.get()
        record.run_id = _run_id.get()
        record.date = _date.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "step": getattr(record, "step", "-"),
            "run_id": getattr(record, "run_id", "-"),
            "date": getattr(record, "date", "-"),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


_TEXT_FORMAT = "%(asctime)s %(levelname)-7s [%(step)s %(run_id)s %(date)s] %(message)s"


def configure(*, fmt: str = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    """(Re)configure the root logger; `fmt` auto means JSON unless stderr is a terminal."""
    stream = stream or sys.stderr
    fmt = os.environ.get(FORMAT_ENV, fmt).lower()
    if fmt == "auto":
        fmt = "text" if stream.isatty() else "json"
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    add_handler(handler, replace=True)
    logging.getLogger().setLevel(level.upper())
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def add_handler(handler: logging.Handler, *, replace: bool = False) -> None:
    root = logging.getLogger()
    if replace:
        for old in list(root.handlers):
            root.removeHandler(old)
            old.close()
    handler.addFilter(_ContextFilter())
    root.addHandler(handler)


def set_context(*, step: str | None = None, run_id: str | None = None) -> None:
    if step is not None:
        _step.set(step)
    if run_id is not None:
        _run_id.set(run_id)


@contextlib.contextmanager
def date_context(day: dt.date | str) -> Iterator[None]:
    token = _date.set(day.isoformat() if isinstance(day, dt.date) else day)
    try:
        yield
    finally:
        _date.reset(token)


@contextlib.contextmanager
def step_context(step: str) -> Iterator[None]:
    token = _step.set(step)
    try:
        yield
    finally:
        _step.reset(token)
