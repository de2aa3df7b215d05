"""Report templates (issue 15): the pure rules of a template and of a report's answers."""

from __future__ import annotations

from duban.rules import (
    MAX_FIELDS,
    ReportField,
    ReportSpec,
    answer_errors,
    evidence_kind,
    normalize_answers,
    report_refusal,
    spec_json,
    spec_of_json,
    template_errors,
)

SPEC = ReportSpec(
    fields=[
        ReportField("villages", "认定脱贫村数量", "number", required=True, unit="个"),
        ReportField("finished_on", "完成日期", "date"),
        ReportField("status", "推进情况", "choice", required=True, choices=["按期", "滞后"]),
        ReportField("note", "备注", "text"),
    ],
    evidence_kinds=["pdf", "image"],
)


def test_a_good_template_has_no_errors():
    assert template_errors(SPEC) == []


def test_bad_templates_say_what_is_wrong():
    bad = ReportSpec(
        fields=[
            ReportField("Bad Name", "名称", "text"),
            ReportField("x", "", "money"),
            ReportField("y", "单位错", "text", unit="个"),
            ReportField("z", "选项", "choice", choices=["只有一个"]),
            ReportField("w", "重复选项", "choice", choices=["甲", "甲"]),
            ReportField("v", "v", "text"),
            ReportField("v", "v2", "text"),
        ],
        evidence_kinds=["pdf", "exe"],
    )
    errors = "；".join(template_errors(bad))
    for words in ("小写字母", "类型须为", "须有标签", "只有数值字段可带单位", "2 至 20 个选项"):
        assert words in errors
    assert "选项重复" in errors and "字段名称重复：v" in errors and "未知的证据类别：exe" in errors


def test_a_huge_template_is_refused_at_once():
    fields = [ReportField(f"f{i}", f"字段{i}", "text") for i in range(10_000)]
    assert template_errors(ReportSpec(fields=fields)) == [
        f"报送模板至多 {MAX_FIELDS} 个字段（当前 10000 个）"
    ]


def test_answers_are_checked_by_type():
    errors = answer_errors(
        SPEC, {"villages": "三百", "finished_on": "2026-13-01", "status": "提前", "ghost": "1"}
    )
    assert errors == {
        "": "报送模板中没有这些字段：ghost",
        "villages": "“认定脱贫村数量”须为数字（单位：个）",
        "finished_on": "“完成日期”须为日期（年-月-日）",
        "status": "“推进情况”须从给定选项中选择",
    }
    assert answer_errors(SPEC, {})["villages"] == "请填写“认定脱贫村数量”"
    good = {"villages": "1,300.5", "status": "按期", "finished_on": "2026-03-31", "note": " "}
    assert answer_errors(SPEC, good) == {}
    assert normalize_answers(SPEC, good) == {
        "villages": "1300.5",
        "finished_on": "2026-03-31",
        "status": "按期",
    }


def test_the_report_refusal_names_missing_evidence_kinds():
    answers = {"villages": "300", "status": "按期"}
    refusal = report_refusal(SPEC, answers, ["pdf"])
    assert refusal is not None and refusal.message == "本期报送须附上：图片。"
    assert report_refusal(SPEC, answers, ["image", "pdf", "other"]) is None
    assert report_refusal(None, {}, []) is None
    no_template = report_refusal(None, {"x": "1"}, [])
    assert no_template is not None and no_template.code == "invalid"


def test_evidence_kinds_come_from_the_sniffed_type():
    assert evidence_kind("application/pdf") == "pdf"
    assert evidence_kind("image/webp") == "image"
    assert evidence_kind("application/vnd.ms-excel") == "spreadsheet"
    assert (
        evidence_kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        == "document"
    )
    assert evidence_kind("application/zip") == "archive"
    assert evidence_kind("text/html") == "other"


def test_a_template_travels_to_the_workflow_as_json():
    assert spec_of_json(spec_json(SPEC)) == SPEC
    assert spec_json(None) == "" and spec_of_json("") is None
