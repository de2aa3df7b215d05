"""Shared paths of the policy tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
JILIN = POLICIES / "jilin-2021-consolidation-revitalization.txt"
GENRE = sorted((POLICIES / "genre").glob("*.txt"))
GOLDEN = Path(__file__).with_name("golden")
DOCUMENTS = [JILIN, *GENRE]
