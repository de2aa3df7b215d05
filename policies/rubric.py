"""The assessment rubric: a versioned TOML data file, loaded into a validated frozen `Rubric`."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).with_name("rubric.toml")
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-[a-z0-9-]+)?$")
_SECTIONS: dict[str, frozenset[str]] = {
    "completion": frozenset({"points"}),
    "lateness": frozenset({"per_day", "cap"}),
    "escalation": frozenset({"level_1", "level_2", "level_3"}),
    "rating": frozenset({"weight", "points"}),
    "roles": frozenset({"lead", "co"}),
    "extension": frozenset({"granted_cost"}),
    "returned": frozenset({"submission_cost"}),
    "historic": frozenset({"scored"}),
}
# Sections a rubric may leave out (their defaults change no score).
_OPTIONAL: dict[str, frozenset[str]] = {"targets": frozenset({"weight"})}


class RubricError(ValueError):
    """A rubric file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Rubric:
    """Scoring rules; deductions are stored as non-negative numbers."""

    version: str
    title: str
    completion_points: float
    late_per_day: float
    late_cap: float
    escalation_costs: tuple[float, ...]  # index 0 is level 1
    rating_weight: float
    rating_points: tuple[float, ...]  # index 0 is rating 1
    lead_weight: float
    co_weight: float
    extension_cost: float
    return_cost: float
    score_historic: bool
    # Points of an approved period whose targets are all met (scaled by the share met); 0: off.
    target_weight: float = 0.0

    def fingerprint(self) -> str:
        """Return a SHA-256 over the rubric's values, so any changed number changes it.

        An unused optional rule is left out, so a rubric without it keeps its fingerprint.
        """
        values = asdict(self)
        if not self.target_weight:
            del values["target_weight"]
        blob = json.dumps(values, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


def _number(data: dict[str, Any], where: str, key: str, *, signed: bool = False) -> float:
    """Return data[key] as a float, non-negative unless `signed`."""
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RubricError(f"rubric: {where}.{key} must be a number, got {value!r}")
    if not signed and value < 0:
        raise RubricError(f"rubric: {where}.{key} must not be negative, got {value!r}")
    return float(value)


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    """Return one section, refusing missing or unknown keys (an optional one may be absent)."""
    sec = data.get(name)
    if sec is None and name in _OPTIONAL:
        return {}
    if not isinstance(sec, dict):
        raise RubricError(f"rubric: missing section [{name}]")
    keys, wanted = set(sec), _SECTIONS.get(name) or _OPTIONAL[name]
    if missing := sorted(wanted - keys):
        raise RubricError(f"rubric: [{name}] lacks {', '.join(missing)}")
    if unknown := sorted(keys - wanted):
        raise RubricError(f"rubric: [{name}] has unknown key {', '.join(unknown)}")
    return sec


def _rating_points(sec: dict[str, Any]) -> tuple[float, ...]:
    """Return the points of ratings 1..5, in order."""
    table = sec["points"]
    if not isinstance(table, dict) or set(table) != {"1", "2", "3", "4", "5"}:
        raise RubricError('rubric: rating.points must map exactly "1".."5" to numbers')
    return tuple(_number(table, "rating.points", str(r), signed=True) for r in range(1, 6))


def _header(data: dict[str, Any]) -> tuple[str, str]:
    """Return the validated version id and title."""
    version, title = data.get("version"), data.get("title", "")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise RubricError(f"rubric: version must look like 2026-11-28, got {version!r}")
    if not isinstance(title, str):
        raise RubricError("rubric: title must be text")
    if unknown := sorted(set(data) - set(_SECTIONS) - set(_OPTIONAL) - {"version", "title"}):
        raise RubricError(f"rubric: unknown section {', '.join(unknown)}")
    return version, title


def parse_rubric(data: dict[str, Any]) -> Rubric:
    """Validate parsed TOML data and return the rubric."""
    version, title = _header(data)
    s = {name: _section(data, name) for name in [*_SECTIONS, *_OPTIONAL]}
    scored = s["historic"]["scored"]
    if not isinstance(scored, bool):
        raise RubricError(f"rubric: historic.scored must be true or false, got {scored!r}")
    return Rubric(
        version=version,
        title=title,
        completion_points=_number(s["completion"], "completion", "points"),
        late_per_day=_number(s["lateness"], "lateness", "per_day"),
        late_cap=_number(s["lateness"], "lateness", "cap"),
        escalation_costs=tuple(
            _number(s["escalation"], "escalation", f"level_{n}") for n in (1, 2, 3)
        ),
        rating_weight=_number(s["rating"], "rating", "weight"),
        rating_points=_rating_points(s["rating"]),
        lead_weight=_number(s["roles"], "roles", "lead"),
        co_weight=_number(s["roles"], "roles", "co"),
        extension_cost=_number(s["extension"], "extension", "granted_cost"),
        return_cost=_number(s["returned"], "returned", "submission_cost"),
        score_historic=scored,
        target_weight=_number(s["targets"], "targets", "weight") if s["targets"] else 0.0,
    )


def load_rubric(path: str | Path | None = None) -> Rubric:
    """Load and validate a rubric file (default: the bundled `policies/rubric.toml`)."""
    target = Path(path) if path is not None else DEFAULT_PATH
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RubricError(f"rubric: cannot read {target}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RubricError(f"rubric: {target.name} is not valid TOML: {exc}") from exc
    return parse_rubric(data)
