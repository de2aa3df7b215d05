"""The declared access table: for every route of the app, who gets past its gate.

tests/web/test_route_matrix.py walks the app's route table and fails when a route has no
entry here (or an entry names a route that is gone), then calls every route as every role.
A role in `allowed` must not be turned away (no 401, 403 or redirect to sign-in, no 500);
any other signed-in role must get `denied`; anonymous callers get 401 (API) or a redirect to
/login (pages) unless the route is public. Routes whose gate is the object itself (an
assignment of one's own department, evidence a role may read) say so with `scoped`: their
per-object answers (404 for another department, 403 for assessors on evidence) are
proved with real data in tests/web/test_access_matrix.py.
"""

from __future__ import annotations

from dataclasses import dataclass

ANONYMOUS = "anonymous"
SIGNED_IN = frozenset({"staff", "head", "supervisor", "assessor", "leader", "admin"})
ROLES = (ANONYMOUS, *sorted(SIGNED_IN))


@dataclass(frozen=True)
class Rule:
    """Who passes a route's gate, and what a signed-in role outside it gets."""

    allowed: frozenset[str]
    denied: int = 403
    scoped: bool = False

    def passes(self, role: str) -> bool:
        """Return whether `role` gets past the gate."""
        return role in self.allowed


PUBLIC = Rule(SIGNED_IN | {ANONYMOUS})
ANY_USER = Rule(SIGNED_IN)
SCOPED = Rule(SIGNED_IN, scoped=True)
# The department inbox and its calendar link: a leader (分管领导) gets 403 (inbox_scope) and
# reads the remit's items on /leader instead.
INBOX_USER = Rule(SIGNED_IN - {"leader"})
INBOX = Rule(INBOX_USER.allowed, scoped=True)
ADMIN = Rule(frozenset({"admin"}))
SUPERVISOR = Rule(frozenset({"supervisor"}))
ASSESSOR = Rule(frozenset({"assessor"}))
DEPARTMENT = Rule(frozenset({"staff", "head"}))
INTAKE = Rule(frozenset({"supervisor", "admin"}))
LEADER = Rule(frozenset({"leader"}))

ACCESS: dict[str, Rule] = {
    # framework, probes, sign-in
    "GET /openapi.json": PUBLIC,
    "GET /docs": PUBLIC,
    "GET /docs/oauth2-redirect": PUBLIC,
    "GET /redoc": PUBLIC,
    "GET /healthz": PUBLIC,
    "GET /readyz": PUBLIC,
    "GET /metrics": PUBLIC,
    "POST /api/v1/auth/token": PUBLIC,
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "POST /logout": PUBLIC,
    "GET /login/2fa": PUBLIC,  # the second step: nobody waiting, back to /login
    "POST /login/2fa": PUBLIC,
    "GET /login/oidc": PUBLIC,  # single sign-on: 404 while no provider is configured
    "GET /login/oidc/callback": PUBLIC,
    "POST /locale": PUBLIC,
    "GET /calendar/{token}.ics": PUBLIC,  # the unguessable token is the key
    "GET /notifications/bell": PUBLIC,  # anonymous: 286, htmx stops polling
    # one's own account
    "POST /api/v1/auth/password": ANY_USER,
    "GET /api/v1/auth/me": ANY_USER,
    "PATCH /api/v1/auth/me": ANY_USER,
    "GET /account/password": ANY_USER,
    "GET /account/2fa": ANY_USER,
    "POST /account/2fa": ANY_USER,
    "POST /api/v1/auth/2fa": ANY_USER,
    "POST /api/v1/auth/2fa/confirm": ANY_USER,
    "GET /account/sessions": ANY_USER,
    "POST /account/sessions/{session_id}/end": ANY_USER,
    "GET /api/v1/auth/sessions": ANY_USER,
    "DELETE /api/v1/auth/sessions/{session_id}": ANY_USER,
    "POST /account/password": ANY_USER,
    "GET /": ANY_USER,
    "POST /calendar/link": INBOX_USER,
    "GET /api/v1/notifications": ANY_USER,
    "POST /api/v1/notifications": ANY_USER,
    "GET /notifications": ANY_USER,
    "POST /notifications/read": ANY_USER,
    "POST /notifications/preferences": ANY_USER,
    # administration
    "GET /api/v1/users": ADMIN,
    "POST /api/v1/users": ADMIN,
    "GET /api/v1/users/{user_id}": ADMIN,
    "PATCH /api/v1/users/{user_id}": ADMIN,
    "GET /api/v1/departments": ANY_USER,
    "POST /api/v1/departments": ADMIN,
    "GET /api/v1/departments/{code}": ANY_USER,
    "PATCH /api/v1/departments/{code}": ADMIN,
    "GET /admin/users": ADMIN,
    "GET /admin/users/new": ADMIN,
    "POST /admin/users": ADMIN,
    "GET /admin/users/{user_id}": ADMIN,
    "POST /admin/users/{user_id}": ADMIN,
    "POST /admin/users/{user_id}/active": ADMIN,
    "POST /admin/users/{user_id}/two-factor/reset": ADMIN,
    "POST /api/v1/users/{user_id}/two-factor/reset": ADMIN,
    "GET /api/v1/users/{user_id}/departments": ADMIN,  # a leader's remit
    "PUT /api/v1/users/{user_id}/departments": ADMIN,
    "POST /admin/users/{user_id}/departments": ADMIN,
    "GET /admin/departments": ADMIN,
    # the organisation tree and the cascade (层层分解)
    "GET /admin/org": ADMIN,
    "POST /admin/org": ADMIN,
    "GET /api/v1/org": ANY_USER,
    "PUT /api/v1/org/{code}": ADMIN,
    "GET /api/v1/assignments/{assignment_id}/subassignments": SCOPED,
    "POST /api/v1/assignments/{assignment_id}/subassignments": SCOPED,
    "POST /assignments/{assignment_id}/subassignments": SCOPED,
    "POST /api/v1/assignments/{assignment_id}/cascade-waiver": SUPERVISOR,
    "POST /assignments/{assignment_id}/cascade-waiver": SUPERVISOR,
    "POST /admin/departments": ADMIN,
    "GET /admin/departments/{code}": ADMIN,
    "POST /admin/departments/{code}": ADMIN,
    # the department workspace (object-level gates: tests/web/test_access_matrix.py)
    "GET /api/v1/assignments": INBOX,
    "GET /api/v1/assignments/{assignment_id}": SCOPED,
    "POST /api/v1/assignments/{assignment_id}/acknowledge": SCOPED,
    "POST /api/v1/assignments/{assignment_id}/submissions": SCOPED,
    "POST /api/v1/assignments/{assignment_id}/extensions": SCOPED,
    "POST /api/v1/assignments/{assignment_id}/evidence": SCOPED,
    "GET /api/v1/assignments/{assignment_id}/evidence/{evidence_id}": SCOPED,
    "GET /assignments": INBOX,
    "GET /assignments/{assignment_id}": SCOPED,
    "POST /assignments/{assignment_id}/acknowledge": SCOPED,
    "POST /assignments/{assignment_id}/submissions": SCOPED,
    "POST /assignments/{assignment_id}/extensions": SCOPED,
    "POST /assignments/{assignment_id}/evidence": SCOPED,
    "GET /assignments/{assignment_id}/evidence/{evidence_id}": SCOPED,
    "GET /assignments/{assignment_id}/evidence/{evidence_id}/view": SCOPED,
    "GET /assignments/{assignment_id}/evidence/{evidence_id}/preview": SCOPED,
    # named people: the conversation, the assignee (承办人), the head's sign-off
    "GET /api/v1/assignments/{assignment_id}/messages": SCOPED,
    "POST /api/v1/assignments/{assignment_id}/messages": SCOPED,
    "POST /assignments/{assignment_id}/messages": SCOPED,
    "POST /api/v1/assignments/{assignment_id}/attachments": SCOPED,
    "GET /api/v1/assignments/{assignment_id}/members": SCOPED,
    "PUT /api/v1/assignments/{assignment_id}/assignee": SCOPED,
    "POST /assignments/{assignment_id}/assignee": SCOPED,
    "POST /api/v1/assignments/{assignment_id}/sign-off": SCOPED,
    "POST /assignments/{assignment_id}/sign-off": SCOPED,
    # issue 15: report templates (supervisors set them) and the department's reusable files
    "GET /api/v1/policies/{policy_id}/tasks/{item_number}/report-template": ANY_USER,
    "PUT /api/v1/policies/{policy_id}/tasks/{item_number}/report-template": SUPERVISOR,
    "GET /policies/{policy_id}/tasks/{item_number}/report-template": SUPERVISOR,
    "POST /policies/{policy_id}/tasks/{item_number}/report-template": SUPERVISOR,
    "GET /api/v1/assignments/{assignment_id}/reusable-evidence": SCOPED,
    "POST /api/v1/assignments/{assignment_id}/reusable-evidence": SCOPED,
    "GET /assignments/{assignment_id}/reusable-evidence": SCOPED,
    "POST /assignments/{assignment_id}/reusable-evidence": SCOPED,
    "GET /api/v1/policies": ANY_USER,
    "GET /api/v1/policies/{policy_id:int}": ANY_USER,
    "GET /policies": ANY_USER,
    "GET /policies/{policy_id:int}": ANY_USER,
    # supervision
    "GET /api/v1/escalations": SUPERVISOR,
    "GET /api/v1/board": SUPERVISOR,
    "GET /api/v1/cockpit": SUPERVISOR,
    "GET /api/v1/reviews": SUPERVISOR,
    "POST /api/v1/reviews/bulk-approve": SUPERVISOR,
    "GET /api/v1/extensions": SUPERVISOR,
    "POST /api/v1/assignments/{assignment_id}/review": SUPERVISOR,
    "POST /api/v1/assignments/{assignment_id}/due": SUPERVISOR,
    "POST /api/v1/assignments/{assignment_id}/extensions/{extension_id}/decision": SUPERVISOR,
    "POST /api/v1/assignments/{assignment_id}/urge": SUPERVISOR,
    "GET /board": SUPERVISOR,
    "GET /escalations": SUPERVISOR,
    "GET /reviews": SUPERVISOR,
    "POST /assignments/{assignment_id}/review": SUPERVISOR,
    "POST /reviews/bulk-approve": SUPERVISOR,
    "POST /assignments/{assignment_id}/due": SUPERVISOR,
    "POST /assignments/{assignment_id}/extensions/{extension_id}/decision": SUPERVISOR,
    "POST /assignments/{assignment_id}/urge": SUPERVISOR,
    "GET /cockpit": SUPERVISOR,
    "GET /assignments/{assignment_id}/papers/notice.pdf": SUPERVISOR,
    "GET /assignments/{assignment_id}/papers/report.pdf": SUPERVISOR,
    "GET /assignments/{assignment_id}/papers/urge/{event_id}.pdf": SUPERVISOR,
    # the leader (分管领导): red items of the remit, 批示
    "GET /leader": LEADER,
    "GET /api/v1/leader/red": LEADER,
    "POST /api/v1/assignments/{assignment_id}/instructions": LEADER,
    "POST /assignments/{assignment_id}/instructions": LEADER,
    # intake: drafts and publishing (supervisors and admins)
    "POST /api/v1/policies/drafts": INTAKE,
    "GET /api/v1/policies/drafts/{draft_id}": INTAKE,
    "PATCH /api/v1/policies/drafts/{draft_id}": INTAKE,
    "POST /api/v1/policies/drafts/{draft_id}/publish": INTAKE,
    "GET /policies/drafts/new": INTAKE,
    "POST /policies/drafts": INTAKE,
    "GET /policies/drafts/{draft_id}": INTAKE,
    "POST /policies/drafts/{draft_id}/edit": INTAKE,
    "POST /policies/drafts/{draft_id}/publish": INTAKE,
    "GET /policies/drafts/{draft_id}/departments": INTAKE,
    "PUT /api/v1/policies/{policy_id}/settings": INTAKE,
    "POST /api/v1/adhoc-tasks": INTAKE,
    "GET /adhoc/new": INTAKE,
    "POST /adhoc/new": INTAKE,
    "GET /policies/{policy_id:int}/progress": INTAKE,
    "POST /policies/{policy_id:int}/start": INTAKE,
    # assessment
    "GET /api/v1/assessment/scores": ASSESSOR,
    "GET /api/v1/assessment/departments/{code}/ledger": ASSESSOR,
    "GET /api/v1/assessment/my-score": DEPARTMENT,
    "GET /api/v1/assessment/rubric": ASSESSOR,
    "GET /api/v1/assessment/rubrics": ASSESSOR,
    "POST /api/v1/assessment/rubric": ASSESSOR,
    "POST /api/v1/assessment/evaluations": ASSESSOR,
    "GET /api/v1/assessment/evaluations": ASSESSOR,
    "GET /api/v1/assessment/evaluations/{evaluation_id}": ASSESSOR,
    "GET /api/v1/assessment/evaluations/{evaluation_id}/compare": ASSESSOR,
    "GET /api/v1/assessment/export.xlsx": ASSESSOR,
    "GET /api/v1/assessment/report.pdf": ASSESSOR,
    "GET /assessment": ASSESSOR,
    "GET /assessment/departments/{code}": ASSESSOR,
    "GET /assessment/mine": DEPARTMENT,
    "GET /assessment/rubric": ASSESSOR,
    "POST /assessment/rubric": ASSESSOR,
    "GET /assessment/evaluations": ASSESSOR,
    "POST /assessment/evaluations": ASSESSOR,
    "GET /assessment/evaluations/{evaluation_id}": ASSESSOR,
}
