"""Shared paths of the policy tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
JILIN = POLICIES / "jilin-2021-consolidation-revitalization.txt"
GENRE = sorted((POLICIES / "genre").glob("*.txt"))
GOLDEN = Path(__file__).with_name("golden")
DOCUMENTS = [JILIN, *GENRE]
_NOTATIONS = Path(__file__).with_name("notations")
NOTATION_DOCUMENTS = sorted([*_NOTATIONS.glob("*.txt"), *(_NOTATIONS / "structure").glob("*.txt")])
TABLE_NOTICE = """某某市人民政府办公室关于印发城市治理重点任务分工方案的通知
某政办发〔2024〕12号
各区人民政府，市政府各部门：
现将《城市治理重点任务分工方案》印发给你们，请认真贯彻执行。
一、加强统筹协调。各牵头单位要细化措施，按时完成任务。（牵头单位：市城管局）
二、强化督促检查。定期通报任务进展情况。（责任单位：市政府督查室）
2024年3月1日
附件
城市治理重点任务分工表
序号 | 重点任务 | 牵头单位 | 责任单位 | 完成时限 |
1 | 建设智慧停车平台 | 市城管局 | 市公安局、市住建局 | 2024年9月 |
2 | 推进老旧小区改造，年内完成40个 | 市住建局 | 各区人民政府 | 2024年底 |
3 | 推进污水管网建设 | 市水务局 | 市生态环境局 | 2024年12月 |
"""


@pytest.fixture(scope="session")
def cjk_font(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TrueType CJK font (a subset of Noto CJK) holding every character of the test documents."""
    from tests.policies import shapes

    # The notation documents too: a glyph missing from the subset drops its character silently.
    every = [*DOCUMENTS, *NOTATION_DOCUMENTS]
    text = "".join(doc.read_text(encoding="utf-8") for doc in every) + TABLE_NOTICE
    return shapes.cjk_ttf(tmp_path_factory.mktemp("font") / "cjk.ttf", text + shapes.PAGE_HEADER)
