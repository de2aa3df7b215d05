"""Rewrite the golden JSON files (run by hand after a reviewed change): uv run python -m tests.policies.regen_golden."""

from __future__ import annotations

import json

from policies.parse import parse_file
from tests.policies.conftest import DOCUMENTS, GOLDEN


def main() -> None:
    """Write one golden JSON file per bundled document."""
    GOLDEN.mkdir(exist_ok=True)
    for path in DOCUMENTS:
        data = parse_file(path).to_json()
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
        (GOLDEN / f"{path.stem}.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
