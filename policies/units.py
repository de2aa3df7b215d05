"""The registry of canonical responsible units (`departments.toml`) and name resolution."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import NamedTuple

from policies.script import fold

REGISTRY_PATH = Path(__file__).with_name("departments.toml")
CODE_RE = re.compile(r"^[a-z0-9-]+$")
_SPACE_RE = re.compile(r"\s+")


class Resolved(NamedTuple):
    """A unit name resolved through the registry."""

    name: str
    code: str
    known: bool


def unknown_code(name: str) -> str:
    """Return the deterministic code of a unit that the registry does not know."""
    return "x-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]


@lru_cache(maxsize=8192)
def name_key(text: str) -> str:
    """Return the key a unit name is matched by: no spaces, folded to Simplified."""
    return fold(_SPACE_RE.sub("", text))


@dataclass(frozen=True)
class Registry:
    """Canonical departments with their codes and an alias index (keys in Simplified)."""

    entries: tuple[tuple[str, str], ...]
    index: dict[str, tuple[str, str]]

    @property
    def departments(self) -> list[tuple[str, str]]:
        """Return every canonical department as (code, name)."""
        return list(self.entries)

    def resolve(self, as_written: str) -> Resolved:
        """Return the canonical name and code of a unit as written, or keep it as an unknown one."""
        key = name_key(as_written)
        found = self.index.get(key)
        if found is not None:
            return Resolved(name=found[1], code=found[0], known=True)
        return Resolved(name=key, code=unknown_code(key), known=False)

    def knows(self, as_written: str) -> bool:
        """Return whether the registry knows the unit."""
        return name_key(as_written) in self.index


def build_registry(text: str) -> Registry:
    """Build a registry from TOML text; raise ValueError on duplicate or malformed codes."""
    data = tomllib.loads(text)
    entries: list[tuple[str, str]] = []
    index: dict[str, tuple[str, str]] = {}
    for row in data.get("department", []):
        code, name = str(row["code"]), str(row["name"])
        if not CODE_RE.match(code) or any(code == c for c, _ in entries):
            raise ValueError(f"bad or duplicate department code: {code!r}")
        entries.append((code, name))
        for alias in [name, *row.get("aliases", [])]:
            key = name_key(str(alias))
            if index.get(key, (code, name)) != (code, name):
                raise ValueError(f"alias {alias!r} names two departments")
            index[key] = (code, name)
    return Registry(entries=tuple(entries), index=index)


@cache
def load_registry() -> Registry:
    """Return the registry of `policies/departments.toml` (read once)."""
    return build_registry(REGISTRY_PATH.read_text(encoding="utf-8"))
