"""The read model: every table, imported here so metadata is complete."""

from duban.models.assignment import Assignment, AssignmentPeriod, Escalation, Extension
from duban.models.audit import AuditChain, AuditEvent
from duban.models.conversation import AssignmentMessage, LeaderDepartment
from duban.models.department import Department
from duban.models.draft import PolicyDraft, PolicyDraftChange
from duban.models.evaluation import Evaluation, RubricVersion
from duban.models.evidence import Evidence
from duban.models.head_term import HeadTerm
from duban.models.login_session import LoginSession
from duban.models.notification import Notification
from duban.models.oidc_identity import OidcIdentity
from duban.models.paper import PaperNumber
from duban.models.policy import Policy, PolicyItem, PolicyVersion
from duban.models.recovery_code import RecoveryCode
from duban.models.report_template import ReportTemplate
from duban.models.score import PeriodScore, ScoreTally, ScoreWatermark
from duban.models.sign_in import SignInFailure
from duban.models.submission import Submission, submission_evidence
from duban.models.target import TargetActual, TaskTarget
from duban.models.user import User

__all__ = [
    "Assignment",
    "AssignmentMessage",
    "AssignmentPeriod",
    "AuditChain",
    "AuditEvent",
    "Department",
    "Escalation",
    "Evaluation",
    "Evidence",
    "Extension",
    "HeadTerm",
    "LeaderDepartment",
    "LoginSession",
    "Notification",
    "OidcIdentity",
    "PaperNumber",
    "PeriodScore",
    "Policy",
    "PolicyDraft",
    "PolicyDraftChange",
    "PolicyItem",
    "PolicyVersion",
    "RecoveryCode",
    "ReportTemplate",
    "RubricVersion",
    "ScoreTally",
    "ScoreWatermark",
    "SignInFailure",
    "Submission",
    "TargetActual",
    "TaskTarget",
    "User",
    "submission_evidence",
]
