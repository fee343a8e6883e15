"""Pipeline configuration: one YAML file loaded into frozen dataclasses.

Every problem is collected and reported in one ConfigError (exit 78). Deployment values can be
overridden from the environment as `XETRA__<SECTION>__<KEY>` (for example `XETRA__TARGET__URI`).
Secrets never go here: the standard AWS credential chain and `AWS_ENDPOINT_URL` handle them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xetra_etl.common.domain.columns import OUTPUT_COLUMNS, SOURCE_COLUMNS, XETRA_HEADER_NAMES
from xetra_etl.common.domain.freshness import FreshnessRule
from xetra_etl.common.domain.wording import noun
from xetra_etl.common.infra.errors import ConfigError, ConfigMissingError

ENV_PREFIX = "XETRA__"


@dataclass(frozen=True)
class SourceConfig:
    uri: str
    columns: Mapping[str, str] = field(default_factory=lambda: dict(XETRA_HEADER_NAMES))
    endpoint_url: str | None = None
    region: str | None = None  # else AWS_REGION / AWS_DEFAULT_REGION / the AWS config
    anonymous: bool = False  # unsigned requests: a public bucket, no credentials needed
    read_workers: int = 8
    freshness: FreshnessRule = field(default_factory=FreshnessRule)


@dataclass(frozen=True)
class TargetConfig:
    uri: str
    report_prefix: str = "reports/daily"
    meta_prefix: str = "meta"
    staging_prefix: str = "staging"
    runs_prefix: str = "runs"
    endpoint_url: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class ReportConfig:
    columns: Mapping[str, str] = field(default_factory=lambda: {c: c for c in OUTPUT_COLUMNS})


@dataclass(frozen=True)
class PipelineConfig:
    first_date: dt.date
    prev_close_lookback_days: int = 10
    include_zero_volume_rows: bool = False
    workers: int = 2
    chunk_size: int = 1
    max_items_per_run: int = 500
    lock_ttl_seconds: int = 3600


@dataclass(frozen=True)
class LoggingConfig:
    format: str = "auto"  # auto: JSON when stderr is not a terminal, text when it is
    level: str = "INFO"


@dataclass(frozen=True)
class Config:
    source: SourceConfig
    target: TargetConfig
    pipeline: PipelineConfig
    report: ReportConfig = field(default_factory=ReportConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)


_SECTIONS: dict[str, type[Any]] = {
    "source": SourceConfig,
    "target": TargetConfig,
    "pipeline": PipelineConfig,
    "report": ReportConfig,
    "logging": LoggingConfig,
}
_REQUIRED = {("source", "uri"), ("target", "uri"), ("pipeline", "first_date")}


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Read, apply environment overrides, validate; one ConfigError lists every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigMissingError(f"{path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file: {exc}", source=str(path)) from exc
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_problem(exc), source=str(path)) from exc
    return parse_config(
        raw, env=os.environ if env is None else env, source=str(path), base=path.parent
    )


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """ "line L, column C: what is wrong" (1-based, as editors count), from PyYAML's error."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    what = f"{context}, {problem}" if context else problem
    if mark is None:
        return f"not valid YAML: {what}"
    return f"line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {what}"


def _resolve_local_uri(uri: str, base: Path) -> str:
    """A relative local directory, made relative to the config file's folder (as a relative
    path in a file means); S3 URIs and absolute paths stay as they are."""
    if "://" in uri or Path(uri).is_absolute():
        return uri
    return str((base / uri).resolve())


def parse_config(
    raw: Any,
    *,
    env: Mapping[str, str] | None = None,
    source: str | None = None,
    base: Path | None = None,
) -> Config:
    """`base`: the folder that relative local URIs in `raw` are relative to (the config file's);
    those from the environment stay relative to the working directory."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise ConfigError("the top level must be a mapping of sections", source=source)
    merged: dict[str, dict[str, Any]] = {}
    for name, value in raw.items():
        if name not in _SECTIONS:
            problems.append(f"unknown section '{name}' (known: {', '.join(_SECTIONS)})")
        elif value is not None and not isinstance(value, dict):
            problems.append(f"section '{name}' must be a mapping")
        else:
            merged[name] = dict(value or {})
            uri = merged[name].get("uri")
            if base is not None and name in ("source", "target") and isinstance(uri, str):
                merged[name]["uri"] = _resolve_local_uri(uri.strip(), base) if uri.strip() else uri
    from_env: dict[tuple[str, str], str] = {}
    for var, value in (env or {}).items():
        if not var.startswith(ENV_PREFIX):
            continue
        parts = var[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) != 2 or parts[0] not in _SECTIONS:
            problems.append(
                f"environment variable {var} does not name <SECTION>__<KEY> "
                f"(sections: {', '.join(_SECTIONS)})"
            )
            continue
        try:
            merged.setdefault(parts[0], {})[parts[1]] = yaml.safe_load(value)
        except yaml.YAMLError:
            merged[parts[0]][parts[1]] = value
        from_env[(parts[0], parts[1])] = var

    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        sections[name] = _build_section(name, cls, merged.get(name, {}), problems, from_env)
    if sections["target"] is not None:
        problems += _overlapping_prefixes(sections["target"])
    if problems:
        raise ConfigError(problems, source=source)
    return Config(**sections)


def _overlapping_prefixes(target: TargetConfig) -> list[str]:
    """The report prefix holds nothing but partitions, so no other prefix may nest with it."""
    named = {
        "report_prefix": target.report_prefix,
        "meta_prefix": target.meta_prefix,
        "staging_prefix": target.staging_prefix,
        "runs_prefix": target.runs_prefix,
    }
    problems = []
    items = sorted(named.items())
    for i, (name, prefix) in enumerate(items):
        for other, other_prefix in items[i + 1 :]:
            a, b = prefix + "/", other_prefix + "/"
            if a.startswith(b) or b.startswith(a):
                problems.append(
                    f"target.{name} and target.{other} overlap ({prefix!r}, {other_prefix!r})"
                )
    return problems


def _build_section(
    name: str,
    cls: type[Any],
    values: dict[str, Any],
    problems: list[str],
    from_env: Mapping[tuple[str, str], str],
) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        var = from_env.get((name, key))
        origin = f" (from environment variable {var})" if var else ""
        if key not in fields:
            problems.append(f"unknown key '{name}.{key}'{origin} (known: {', '.join(fields)})")
            continue
        checker = _CHECKS.get((name, key))
        if checker is None:
            kwargs[key] = value
            continue
        try:
            kwargs[key] = checker(value)
        except (TypeError, ValueError) as exc:
            problems.append(f"{name}.{key}{origin}: {exc}")
    missing = [k for (s, k) in sorted(_REQUIRED) if s == name and kwargs.get(k) in (None, "")]
    for key in missing:
        if not any(p.startswith((f"{name}.{key}:", f"{name}.{key} (")) for p in problems):
            problems.append(f"missing required key '{name}.{key}'")
    if missing or any(p.startswith(f"{name}.") for p in problems):
        return None
    return cls(**kwargs)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value.strip()


def _optional_text(value: Any) -> str | None:
    return None if value in (None, "") else _text(value)


def _prefix(value: Any) -> str:
    text = _text(value).strip("/")
    if not text or ".." in text.split("/"):
        raise ValueError(f"expected a relative key prefix, got {value!r}")
    return text


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")


def _int_range(low: int, high: int) -> Any:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"expected an integer from {low} to {high}, got {value!r}")
        return value

    return check


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _choice(*options: str) -> Any:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value.lower() not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
        return value.lower()

    return check


def _source_columns(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of canonical column to source header name")
    unknown = sorted(set(value) - set(SOURCE_COLUMNS))
    if unknown:
        raise ValueError(
            f"unknown canonical {noun(len(unknown), 'column')} {', '.join(unknown)} "
            f"(known: {', '.join(SOURCE_COLUMNS)})"
        )
    columns = dict(XETRA_HEADER_NAMES)
    for canonical, header in value.items():
        columns[canonical] = _text(header)
    if len(set(columns.values())) != len(columns):
        raise ValueError("two canonical columns map to the same source header")
    return columns


def _freshness(value: Any) -> FreshnessRule:
    if not isinstance(value, dict):
        raise ValueError("expected a mapping with warn_after_days and/or error_after_days")
    known = [f.name for f in dataclasses.fields(FreshnessRule)]
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ValueError(
            f"unknown {noun(len(unknown), 'key')} {', '.join(unknown)} (known: {', '.join(known)})"
        )
    days = _int_range(1, 3660)
    settings = {key: None if value[key] is None else days(value[key]) for key in value}
    rule = FreshnessRule(**settings)
    warn, error = rule.warn_after_days, rule.error_after_days
    if "warn_after_days" not in value and warn is not None and error is not None and warn > error:
        return dataclasses.replace(rule, warn_after_days=None)  # the default warns no sooner
    if warn is not None and error is not None and warn > error:
        raise ValueError(f"warn_after_days ({warn}) is more than error_after_days ({error})")
    return rule


def _report_columns(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of report column to output name")
    unknown = sorted(set(value) - set(OUTPUT_COLUMNS))
    if unknown:
        raise ValueError(
            f"unknown report {noun(len(unknown), 'column')} {', '.join(unknown)} "
            f"(known: {', '.join(OUTPUT_COLUMNS)})"
        )
    columns = {c: c for c in OUTPUT_COLUMNS}
    for column, name in value.items():
        columns[column] = _text(name)
    if columns["date"] != "date":
        raise ValueError("'date' is the Hive partition column and cannot be renamed")
    if len(set(columns.values())) != len(columns):
        raise ValueError("two report columns have the same output name")
    return columns


_CHECKS: dict[tuple[str, str], Any] = {
    ("source", "uri"): _text,
    ("source", "columns"): _source_columns,
    ("source", "endpoint_url"): _optional_text,
    ("source", "region"): _optional_text,
    ("source", "anonymous"): _bool,
    ("source", "read_workers"): _int_range(1, 64),
    ("source", "freshness"): _freshness,
    ("target", "uri"): _text,
    ("target", "report_prefix"): _prefix,
    ("target", "meta_prefix"): _prefix,
    ("target", "staging_prefix"): _prefix,
    ("target", "runs_prefix"): _prefix,
    ("target", "endpoint_url"): _optional_text,
    ("target", "region"): _optional_text,
    ("pipeline", "first_date"): _date,
    ("pipeline", "prev_close_lookback_days"): _int_range(1, 366),
    ("pipeline", "include_zero_volume_rows"): _bool,
    ("pipeline", "workers"): _int_range(1, 64),
    ("pipeline", "chunk_size"): _int_range(1, 366),
    ("pipeline", "max_items_per_run"): _int_range(1, 2000),
    ("pipeline", "lock_ttl_seconds"): _int_range(30, 7 * 24 * 3600),
    ("report", "columns"): _report_columns,
    ("logging", "format"): _choice("auto", "json", "text"),
    ("logging", "level"): _choice("debug", "info", "warning", "error"),
}
