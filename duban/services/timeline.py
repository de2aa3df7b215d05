"""Names of timeline (audit) events as people read them."""

from __future__ import annotations

from typing import Any

TIMELINE_LABELS = {
    "policy_imported": "政策文件导入",
    "assigned": "任务下达",
    "started": "任务下达",
    "period_opened": "进入新的报送周期",
    "period_started": "进入新的报送周期",
    "acknowledged": "签收",
    "evidence_uploaded": "上传证据材料",
    "evidence_reused": "复用已上传材料",
    "submitted": "报送进展",
    "approved": "审核通过",
    "returned": "退回整改",
    "reviewed": "审核",
    "co_reported": "配合单位已报送",
    "extension_requested": "申请延期",
    "extension_granted": "同意延期",
    "extension_refused": "不同意延期",
    "extension_decided": "延期审批",
    "due_set": "调整截止时间",
    "due_changed": "调整截止时间",
    "urged": "催办",
    "reminded": "到期提醒",
    "reminder": "到期提醒",
    "escalation_l1": "逾期预警（一级：单位负责人）",
    "escalation_l2": "逾期预警（二级：督查室）",
    "escalation_l3": "逾期预警（三级：分管领导）",
    "due_moved": "调整截止时间",
    "due": "到期",
    "overdue": "已逾期",
    "escalated": "逾期升级",
    "period_closed": "本期办结",
    "completed": "任务办结",
    "revised": "政策文件修订",
    "withdrawn": "政策文件修订：不再由本单位承办",
    "reconciled": "数据核对",
    "message": "沟通留言",
    "instruction": "领导批示",
    "assignee_set": "指定承办人",
    "sub_assigned": "转办分解",
    "cascade_waived": "督查室豁免下级分解任务",
    "submitted_for_sign_off": "提交责任人审核",
    "signed_off": "责任人审核同意",
    "sign_off_returned": "责任人退回修改",
}


REVIEW_LABELS = {"approve": "审核通过", "return": "退回整改"}


def timeline_label(kind: str, data: dict[str, Any] | None = None) -> str:
    """Return the Chinese name of a timeline event (the kind itself when unknown)."""
    if kind == "reviewed" and data and data.get("decision") in REVIEW_LABELS:
        return REVIEW_LABELS[data["decision"]]
    if kind == "revised" and data and data.get("policy_version"):
        moved = "，本期期限已调整" if data.get("due_at") else ""
        return f"政策文件修订（第{data['policy_version']}版，计划重排{moved}）"
    return TIMELINE_LABELS.get(kind, kind)
