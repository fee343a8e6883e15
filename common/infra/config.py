"""Pipeline configuration: one YAML file loaded into frozen dataclasses.

Every problem is collected and reported in one ConfigError (exit 78). Deployment values can be
overridden from the environment as `XETRA__<SECTION>__<KEY>` (for example `XETRA__TARGET__URI`).
Secrets never go here: the standard AWS credential chain and `AWS_ENDPOINT_URL` handle them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from xetra_etl.common.domain.columns import OUTPUT_COLUMNS, XETRA_HEADER_NAMES
from xetra_etl.common.domain.freshness import FreshnessRule
from xetra_etl.common.domain.wording import noun
from xetra_etl.common.infra.errors import ConfigError, ConfigMissingError

ENV_PREFIX = "XETRA__"


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


def _column_mapping(
    defaults: Mapping[str, str], kind: str, to: str, clash: str, *, pinned: str | None = None
) -> Callable[[Any], dict[str, str]]:
    """A validator for a mapping that renames some of `defaults`' columns."""

    def check(value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            raise ValueError(f"expected a mapping of {kind} column to {to}")
        unknown = sorted(set(value) - set(defaults))
        if unknown:
            raise ValueError(
                f"unknown {kind} {noun(len(unknown), 'column')} {', '.join(unknown)} "
                f"(known: {', '.join(defaults)})"
            )
        columns = dict(defaults) | {column: _text(name) for column, name in value.items()}
        if pinned is not None and columns[pinned] != defaults[pinned]:
            raise ValueError(f"{pinned!r} is the Hive partition column and cannot be renamed")
        if len(set(columns.values())) != len(columns):
            raise ValueError(clash)
        return columns

    return check


_source_columns = _column_mapping(
    XETRA_HEADER_NAMES,
    "canonical",
    "source header name",
    "two canonical columns map to the same source header",
)
_report_columns = _column_mapping(
    {c: c for c in OUTPUT_COLUMNS},
    "report",
    "output name",
    "two report columns have the same output name",
    pinned="date",
)


def _freshness(value: Any) -> FreshnessRule:
    rule = FreshnessRule(**_freshness_days(value))
    warn, error = rule.warn_after_days, rule.error_after_days
    if warn is None or error is None or warn <= error:
        return rule
    if "warn_after_days" not in value:
        return dataclasses.replace(rule, warn_after_days=None)  # the default warns no sooner
    raise ValueError(f"warn_after_days ({warn}) is more than error_after_days ({error})")


def _freshness_days(value: Any) -> dict[str, int | None]:
    if not isinstance(value, dict):
        raise ValueError("expected a mapping with warn_after_days and/or error_after_days")
    known = [f.name for f in dataclasses.fields(FreshnessRule)]
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ValueError(
            f"unknown {noun(len(unknown), 'key')} {', '.join(unknown)} (known: {', '.join(known)})"
        )
    days = _int_range(1, 3660)
    return {key: None if value[key] is None else days(value[key]) for key in value}


def checked(validator: Callable[[Any], Any]) -> dict[str, Any]:
    """A field's metadata: `validator` checks (and normalises) the field's value when parsed."""
    return {"check": validator}


@dataclass(frozen=True)
class SourceConfig:
    uri: str = field(metadata=checked(_text))
    columns: Mapping[str, str] = field(
        default_factory=lambda: dict(XETRA_HEADER_NAMES), metadata=checked(_source_columns)
    )
    endpoint_url: str | None = field(default=None, metadata=checked(_optional_text))
    # else AWS_REGION / AWS_DEFAULT_REGION / the AWS config
    region: str | None = field(default=None, metadata=checked(_optional_text))
    # unsigned requests: a public bucket, no credentials needed
    anonymous: bool = field(default=False, metadata=checked(_bool))
    read_workers: int = field(default=8, metadata=checked(_int_range(1, 64)))
    freshness: FreshnessRule = field(default_factory=FreshnessRule, metadata=checked(_freshness))


@dataclass(frozen=True)
class TargetConfig:
    uri: str = field(metadata=checked(_text))
    report_prefix: str = field(default="reports/daily", metadata=checked(_prefix))
    meta_prefix: str = field(default="meta", metadata=checked(_prefix))
    staging_prefix: str = field(default="staging", metadata=checked(_prefix))
    runs_prefix: str = field(default="runs", metadata=checked(_prefix))
    endpoint_url: str | None = field(default=None, metadata=checked(_optional_text))
    region: str | None = field(default=None, metadata=checked(_optional_text))


@dataclass(frozen=True)
class ReportConfig:
    columns: Mapping[str, str] = field(
        default_factory=lambda: {c: c for c in OUTPUT_COLUMNS}, metadata=checked(_report_columns)
    )


@dataclass(frozen=True)
class PipelineConfig:
    first_date: dt.date = field(metadata=checked(_date))
    prev_close_lookback_days: int = field(default=10, metadata=checked(_int_range(1, 366)))
    include_zero_volume_rows: bool = field(default=False, metadata=checked(_bool))
    workers: int = field(default=2, metadata=checked(_int_range(1, 64)))
    chunk_size: int = field(default=1, metadata=checked(_int_range(1, 366)))
    max_items_per_run: int = field(default=500, metadata=checked(_int_range(1, 2000)))
    lock_ttl_seconds: int = field(default=3600, metadata=checked(_int_range(30, 7 * 24 * 3600)))


@dataclass(frozen=True)
class LoggingConfig:
    # auto: JSON when stderr is not a terminal, text when it is
    format: str = field(default="auto", metadata=checked(_choice("auto", "json", "text")))
    level: str = field(
        default="INFO", metadata=checked(_choice("debug", "info", "warning", "error"))
    )


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


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config: where (`section`, `key`; empty when not one) and what."""

    section: str
    key: str
    message: str

    def __str__(self) -> str:
        return self.message


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
    if not isinstance(raw, dict):
        raise ConfigError("the top level must be a mapping of sections", source=source)
    problems: list[Problem] = []
    merged = _sections_of(raw, base, problems)
    from_env = _apply_environment(env or {}, merged, problems)
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        sections[name] = _build_section(name, cls, merged.get(name, {}), problems, from_env)
    if sections["target"] is not None:
        problems += _overlapping_prefixes(sections["target"])
    if problems:
        raise ConfigError([str(problem) for problem in problems], source=source)
    return Config(**sections)


def _sections_of(
    raw: dict[Any, Any], base: Path | None, problems: list[Problem]
) -> dict[str, dict[str, Any]]:
    """The file's sections as mappings, local URIs made relative to `base`."""
    merged: dict[str, dict[str, Any]] = {}
    for name, value in raw.items():
        if name not in _SECTIONS:
            problems.append(
                Problem(name, "", f"unknown section '{name}' (known: {', '.join(_SECTIONS)})")
            )
        elif value is not None and not isinstance(value, dict):
            problems.append(Problem(name, "", f"section '{name}' must be a mapping"))
        else:
            merged[name] = dict(value or {})
            uri = merged[name].get("uri")
            if base is not None and name in ("source", "target") and isinstance(uri, str):
                merged[name]["uri"] = _resolve_local_uri(uri.strip(), base) if uri.strip() else uri
    return merged


def _apply_environment(
    env: Mapping[str, str], merged: dict[str, dict[str, Any]], problems: list[Problem]
) -> dict[tuple[str, str], str]:
    """Apply the `XETRA__<SECTION>__<KEY>` overrides; returns which variable set which key."""
    from_env: dict[tuple[str, str], str] = {}
    for var, value in env.items():
        if not var.startswith(ENV_PREFIX):
            continue
        parts = var[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) != 2 or parts[0] not in _SECTIONS:
            problems.append(
                Problem(
                    "",
                    "",
                    f"environment variable {var} does not name <SECTION>__<KEY> "
                    f"(sections: {', '.join(_SECTIONS)})",
                )
            )
            continue
        try:
            merged.setdefault(parts[0], {})[parts[1]] = yaml.safe_load(value)
        except yaml.YAMLError:
            merged[parts[0]][parts[1]] = value
        from_env[(parts[0], parts[1])] = var
    return from_env


def _overlapping_prefixes(target: TargetConfig) -> list[Problem]:
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
                    Problem(
                        "target",
                        name,
                        f"target.{name} and target.{other} overlap ({prefix!r}, {other_prefix!r})",
                    )
                )
    return problems


def _build_section(
    name: str,
    cls: type[Any],
    values: dict[str, Any],
    problems: list[Problem],
    from_env: Mapping[tuple[str, str], str],
) -> Any:
    """The section's dataclass, each value checked by its field's validator; None when a value
    is wrong or a required one is missing (each recorded in `problems`)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    wrong: set[str] = set()
    for key, value in values.items():
        var = from_env.get((name, key))
        origin = f" (from environment variable {var})" if var else ""
        if key not in fields:
            known = ", ".join(fields)
            problems.append(
                Problem(name, key, f"unknown key '{name}.{key}'{origin} (known: {known})")
            )
            continue
        try:
            kwargs[key] = fields[key].metadata["check"](value)
        except (TypeError, ValueError) as exc:
            problems.append(Problem(name, key, f"{name}.{key}{origin}: {exc}"))
            wrong.add(key)
    missing = [key for key in _required(cls) if key not in wrong and kwargs.get(key) in (None, "")]
    problems += [Problem(name, key, f"missing required key '{name}.{key}'") for key in missing]
    if missing or wrong:
        return None
    return cls(**kwargs)


def _required(cls: type[Any]) -> list[str]:
    """The keys of `cls` without a default."""
    return [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
