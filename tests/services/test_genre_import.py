"""Every bundled document imports, including those whose item numbers restart per section."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from duban.models import Assignment, PolicyItem
from duban.services.policy import import_policy
from policies.parse import parse_file

DOCS = sorted((Path(__file__).resolve().parents[2] / "policies").rglob("*.txt"))


@pytest.mark.parametrize("path", DOCS, ids=[p.stem for p in DOCS])
def test_document_imports_with_unique_item_keys(session, path):
    parsed = parse_file(path)
    result = import_policy(
        session=session, parsed=parsed, source_text=path.read_text(), source_name=path.name
    )
    items = session.scalars(select(PolicyItem).where(PolicyItem.version_id.is_not(None))).all()
    assert len(items) == len(parsed.items) == result.items
    assert len({i.number for i in items}) == len(items)
    assert all(i.label for i in items)
    expected = sum(len({u.code for u in item.units}) for item in parsed.tasks)
    assert (
        session.scalar(select(func.count()).select_from(Assignment))
        == expected
        == result.assignments
    )
