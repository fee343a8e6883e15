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
import threading
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
        problems = getattr(record, "problems", None)
        if problems:
            entry["problems"] = list(problems)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """One readable line per record; a record's list of problems follows, one per line."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        problems = getattr(record, "problems", None) or ()
        return text + "".join(f"\n  - {problem}" for problem in problems)


_TEXT_FORMAT = "%(asctime)s %(levelname)-7s [%(step)s %(run_id)s %(date)s] %(message)s"


class StatusLine:
    """One line at the bottom of a terminal (the progress of a run) that log lines print above.

    Log records and status updates come from many threads; one lock keeps each write whole.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.text = ""
        self.lock = threading.Lock()

    def show(self, text: str) -> None:
        with self.lock:
            self.text = text
            self.stream.write(f"\r\x1b[K{text}")
            self.stream.flush()

    def clear(self) -> None:
        with self.lock:
            if self.text:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            self.text = ""

    def write_above(self, line: str) -> None:
        with self.lock:
            prefix = "\r\x1b[K" if self.text else ""
            self.stream.write(f"{prefix}{line}\n{self.text}")
            self.stream.flush()


class _TerminalHandler(logging.Handler):
    def __init__(self, status: StatusLine) -> None:
        super().__init__()
        self.status = status

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.status.write_above(self.format(record))
        except Exception:
            self.handleError(record)


class _Console:
    status: StatusLine | None = None  # set by `configure` when stderr is a terminal


def status_line() -> StatusLine | None:
    """The terminal's status line, when stderr is a terminal and progress is wanted."""
    return _Console.status


def configure(
    *,
    fmt: str = "auto",
    level: str = "info",
    verbosity: int = 0,
    stream: TextIO | None = None,
) -> None:
    """(Re)configure the root logger.

    `fmt` auto means text on a terminal, JSON lines otherwise (a pipe, a pod). On a terminal
    stderr shows warnings and errors above a progress line, INFO only with `verbosity` 1 (-v);
    elsewhere it shows `level`. `verbosity` -1 (-q) shows errors only and no progress line.
    """
    stream = stream or sys.stderr
    fmt = os.environ.get(FORMAT_ENV, fmt).lower()
    terminal = stream.isatty()
    if fmt == "auto":
        fmt = "text" if terminal else "json"
    base = logging.getLevelName(level.upper())
    console = _console_level(base, verbosity, terminal=terminal and fmt == "text")
    handler: logging.Handler
    if terminal and fmt == "text":
        _Console.status = StatusLine(stream) if verbosity >= 0 else None
        handler = _TerminalHandler(_Console.status or StatusLine(stream))
        handler.setFormatter(TextFormatter())
    else:
        _Console.status = None
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.setLevel(console)
    add_handler(handler, replace=True)
    logging.getLogger().setLevel(min(base, console))
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _console_level(base: int, verbosity: int, *, terminal: bool) -> int:
    """Errors only with -q; INFO with -v; on a terminal's text log warnings; else `base`."""
    if verbosity < 0:
        return logging.ERROR
    if verbosity > 0:
        return min(base, logging.INFO)
    return logging.WARNING if terminal else base


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
