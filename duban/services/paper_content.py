"""What each formal paper says, drawn from an assignment's records (no wording is stored)."""

from __future__ import annotations

from datetime import datetime

from duban.models import AuditEvent
from duban.services.assignment import AssignmentDetail
from duban.services.paper import CHINA, PAPER_TITLES, PaperKind, PaperNo
from duban.services.paper_pdf import PaperContent

STATE_NAMES = {
    "assigned": "待签收",
    "acknowledged": "已签收",
    "in_progress": "办理中",
    "submitted": "已报送待审核",
    "returned": "退回整改",
    "approved": "审核通过",
    "completed": "已办结",
}
NONE = "—"


def _when(at: datetime | None) -> str:
    """Return a Beijing-time moment as 2026-12-02 17:30, or a dash."""
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if at else NONE


def _role(role: str) -> str:
    return "牵头" if role == "lead" else "配合"


def _task(d: AssignmentDetail) -> str:
    return f"{d.ref}{d.title}"


def _units(d: AssignmentDetail) -> str:
    a = d.assignment
    names = [f"{a.department.name}（{_role(a.role)}）"]
    names += [f"{p.department.name}（{_role(p.role)}）" for p in d.partners]
    return "、".join(names)


def notice(d: AssignmentDetail, number: PaperNo, office: str) -> PaperContent:
    """督办通知单: the task handed to the department, with its deadline and reporting periods."""
    a = d.assignment
    periods = "；".join(
        f"{p.label or f'第{p.index + 1}期'} {_when(p.due_at)}" for p in d.periods if not p.historic
    )
    return PaperContent(
        office=office,
        title=PAPER_TITLES[PaperKind.NOTICE],
        number=number.text,
        addressee=a.department.name,
        paragraphs=[
            f"根据《{a.policy.title}》，现将下列事项交由你单位{_role(a.role)}办理。"
            "请明确责任人，按期办结，并按要求报送工作进展和证据材料。"
        ],
        facts=[
            ("督办事项", _task(d)),
            ("任务内容", d.item.body if d.item else NONE),
            ("责任单位", _units(d)),
            ("办理时限", _when(a.original_due_at or a.due_at)),
            ("报送安排", periods or NONE),
        ],
        closing=["请收到本通知后及时签收，逾期未报送的，将按规定予以催办和预警。"],
        dated=number.issued_at,
    )


def urge(d: AssignmentDetail, number: PaperNo, office: str, event: AuditEvent) -> PaperContent:
    """催办通知单: one 催办 with its message, the deadline and how late the task is."""
    a = d.assignment
    message = str(event.data.get("message") or "请尽快办理并报送工作进展。")
    late = (event.at - a.due_at).days if a.due_at and event.at > a.due_at else 0
    return PaperContent(
        office=office,
        title=PAPER_TITLES[PaperKind.URGE],
        number=number.text,
        addressee=a.department.name,
        paragraphs=[
            f"你单位{_role(a.role)}承办的《{a.policy.title}》{_task(d)}，"
            + (f"已逾期 {late} 天，" if late else "")
            + "现予催办。"
        ],
        facts=[
            ("督办事项", _task(d)),
            ("办理时限", _when(a.due_at)),
            ("当前状态", STATE_NAMES.get(a.state, a.state)),
            ("预警级别", f"{a.escalation_level} 级" if a.escalation_level else "无"),
            ("催办意见", message),
            ("催办人", event.actor_label or NONE),
        ],
        closing=["请于收到本通知后抓紧办理，并在系统中报送工作进展和证据材料。"],
        dated=event.at,
    )


def _period_rows(d: AssignmentDetail) -> list[list[str]]:
    rows = [["期次", "截止时间", "报送时间", "是否按时", "评分"]]
    latest = {s.period_index: s for s in d.submissions if s.state == "approved"}
    for p in d.periods:
        s = latest.get(p.index)
        on_time = (
            {True: "按时", False: "逾期"}.get(p.on_time, NONE) if p.on_time is not None else NONE
        )
        rating = str(p.rating or (s.rating if s else "") or NONE)
        label = p.label or f"第{p.index + 1}期"
        rows.append([label, _when(p.due_at), _when(s.submitted_at if s else None), on_time, rating])
    return rows


def report(d: AssignmentDetail, number: PaperNo, office: str) -> PaperContent:
    """办结报告: what was done, period by period, with the reviews and the evidence on file."""
    a = d.assignment
    approved = [s for s in d.submissions if s.state == "approved"]
    last = approved[-1] if approved else None
    files = "；".join(f"{e.filename}（SHA-256 {e.sha256[:12]}…）" for e in d.evidence)
    return PaperContent(
        office=office,
        title=PAPER_TITLES[PaperKind.REPORT],
        number=number.text,
        addressee="",
        paragraphs=[
            f"《{a.policy.title}》{_task(d)}，由{a.department.name}{_role(a.role)}承办，"
            f"经审核已办结。现将办理情况报告如下。"
        ],
        facts=[
            ("督办事项", _task(d)),
            ("承办单位", _units(d)),
            ("签收时间", _when(a.acknowledged_at)),
            ("办结时间", _when(a.completed_at or (last.reviewed_at if last else None))),
            ("办理情况", last.report if last else NONE),
            ("审核意见", (last.review_comment or "审核通过") if last else NONE),
            ("证据材料", files or NONE),
        ],
        table=_period_rows(d),
        closing=["以上办理过程均在系统中留痕，可追溯核查。"],
        dated=number.issued_at,
    )
