"""AssignmentWorkflow: the periods of one task x department; human actions as Updates."""

from __future__ import annotations

from dataclasses import replace

from temporalio import workflow
from temporalio.exceptions import TemporalError

with workflow.unsafe.imports_passed_through():
    from duban.domain import AssignmentRole, AssignmentState, assignment_workflow_id
    from duban.messages import (
        EscalationRecord,
        ExtensionDecisionRecord,
        ExtensionRecord,
        PlanRecord,
        ReviewRecord,
        SubmissionRecord,
    )

    # Plain data and pure rules: imported once, not again for every workflow run, and one
    # set of types for the data converter's cache.
    from workflows.assignment_messages import (
        ActionInput,
        ActionResult,
        AssignmentCarry,
        AssignmentInput,
        AssignmentRevision,
        AssignmentStatus,
        CoReportInput,
        ExtensionDecisionInput,
        ExtensionRequestInput,
        PeriodOutcome,
        PeriodSpec,
        ReviewInput,
        SetDueInput,
        SignOffInput,
        SubmitInput,
        UrgeInput,
    )
    from workflows.assignment_rules import (
        check_acknowledge,
        check_extension_decision,
        check_extension_request,
        check_review,
        check_set_due,
        check_sign_off,
        check_submit,
        replan,
    )

from workflows.assignment_engine import HEAD_SIGN_OFF, AssignmentEngine, iso

__all__ = [
    "ActionInput",
    "ActionResult",
    "AssignmentCarry",
    "AssignmentInput",
    "AssignmentRevision",
    "AssignmentStatus",
    "AssignmentWorkflow",
    "CoReportInput",
    "ExtensionDecisionInput",
    "ExtensionRequestInput",
    "PeriodOutcome",
    "PeriodSpec",
    "ReviewInput",
    "SetDueInput",
    "SignOffInput",
    "SubmitInput",
    "UrgeInput",
]
S = AssignmentState


@workflow.defn
class AssignmentWorkflow(AssignmentEngine):
    """Run one assignment period by period: reminders, due, ladder, submission, review."""

    @workflow.init
    def __init__(self, inp: AssignmentInput) -> None:
        self._setup(inp)

    @workflow.run
    async def run(self, inp: AssignmentInput) -> AssignmentStatus:
        """Run the current period, then continue-as-new into the next one."""
        self._decide_patches()
        await self._begin()
        if self.s.period_begun:
            if not await self._watch_period():
                await self._continue()
            if not self.s.withdrawn:
                await self._close_period()
        if self.s.withdrawn:
            return await self._complete("withdrawn")
        if self.s.period_index < len(self.inp.periods):  # a revision may have added periods
            await self._continue()
        return await self._complete()

    # -- updates -----------------------------------------------------------------------

    @workflow.update
    async def acknowledge(self, inp: ActionInput) -> ActionResult:
        """签收: the department takes the task on."""
        if (done := self.s.results.get(inp.key)) is not None:
            return done
        self.s.state, self.s.acknowledged_at = S.ACKNOWLEDGED, workflow.now()
        result = self._done(inp.key, "acknowledged")
        await self._record("acknowledged", inp.key, **self._who(inp))
        return result

    @acknowledge.validator
    def _check_acknowledge(self, inp: ActionInput) -> None:
        self._validate(check_acknowledge, inp)

    @workflow.update
    async def submit(self, inp: SubmitInput) -> ActionResult:
        """Report progress for the current period; stops the ladder (or waits for the head)."""
        if (done := self.s.results.get(inp.key)) is not None:
            return done
        if inp.needs_sign_off and self._takes(HEAD_SIGN_OFF):
            return await self._hold(inp)
        return await self._send_up(inp)

    async def _send_up(self, inp: SubmitInput) -> ActionResult:
        """Put the report before the supervisors."""
        s, now = self.s, workflow.now()
        late = bool(s.due_at and now > s.due_at)
        s.acknowledged_at = s.acknowledged_at or now
        s.state, s.submission_key, s.submitted_at = S.SUBMITTED, inp.key, now
        s.held = None
        result = self._done(inp.key, "submitted")
        await self._record_telling(
            self._notice("submitted", "supervisors", inp.key, "submitted"),
            "submitted",
            inp.key,
            **self._who(inp),
            data=self._report_data(inp, late=late),
            submission=SubmissionRecord(
                inp.key,
                inp.report,
                list(inp.evidence_ids),
                late,
                actuals=dict(inp.actuals),
                answers=dict(inp.answers) or None,
            ),
            escalation=EscalationRecord(resolve=True) if s.escalation_level else None,
        )
        await self._after_answer(self._tell_lead(s.period_index))
        return result

    @staticmethod
    def _report_data(inp: SubmitInput, *, late: bool) -> dict[str, object]:
        """Return the timeline data of a report: lateness, evidence and the template's answers."""
        data: dict[str, object] = {"late": late, "evidence_ids": list(inp.evidence_ids)}
        if inp.answers:
            data["answers"] = dict(inp.answers)
        return data

    async def _hold(self, inp: SubmitInput) -> ActionResult:
        """Keep a member's report for the head's sign-off; the ladder runs on meanwhile."""
        s = self.s
        s.acknowledged_at = s.acknowledged_at or workflow.now()
        s.state, s.held = S.HEAD_REVIEW, inp
        result = self._done(inp.key, "held_for_sign_off")
        data: dict[str, object] = {
            "report": inp.report,
            "evidence_ids": list(inp.evidence_ids),
            "actuals": dict(inp.actuals),
        }
        if inp.answers:
            data["answers"] = dict(inp.answers)
        notice = self._notice(
            "sign_off_requested", "head", inp.key, "sign_off_requested", inp.report
        )
        await self._record_telling(
            notice, "submitted_for_sign_off", inp.key, **self._who(inp), data=data
        )
        return result

    @workflow.update
    async def sign_off(self, inp: SignOffInput) -> ActionResult:
        """The head passes the held report on to the supervisors, or returns it with a reason."""
        if (done := self.s.results.get(inp.key)) is not None:
            return done
        held, s = self.s.held, self.s
        assert held is not None  # the validator saw it
        data = {"comment": inp.comment, "submission_key": held.key}
        if inp.approve:
            await self._record("signed_off", inp.key, **self._who(inp), data=data)
            sent = await self._send_up(held)
            result = replace(sent, key=inp.key, code="signed_off")
        else:
            s.state, s.held = S.IN_PROGRESS, None
            result = self._done(inp.key, "sign_off_returned")
            notice = self._notice(
                "sign_off_returned", "department", inp.key, "sign_off_returned", inp.comment
            )
            await self._record_telling(
                notice, "sign_off_returned", inp.key, **self._who(inp), data=data
            )
        s.results[inp.key] = result
        return result

    @sign_off.validator
    def _check_sign_off(self, inp: SignOffInput) -> None:
        self._validate(check_sign_off, inp)

    @submit.validator
    def _check_submit(self, inp: SubmitInput) -> None:
        self._validate(check_submit, inp)

    async def _tell_lead(self, period_index: int) -> None:
        """A co-organizer's report lets its lead's period close."""
        if self.inp.role != AssignmentRole.CO or not self.inp.lead_department_code:
            return
        lead_id = assignment_workflow_id(
            self.inp.policy_key, self.inp.item_number, self.inp.lead_department_code
        )
        report = CoReportInput(self.inp.department_code, period_index)
        try:
            await workflow.get_external_workflow_handle(lead_id).signal(
                AssignmentWorkflow.co_reported, report
            )
        except TemporalError:
            workflow.logger.warning("lead %s did not take the co report", lead_id)

    @workflow.update
    async def review(self, inp: ReviewInput) -> ActionResult:
        """Approve with a rating, or return with a reason (and maybe a new due date)."""
        if (done := self.s.results.get(inp.key)) is not None:
            return done
        s, patch = self.s, None
        submission_key = s.submission_key or ""
        if inp.decision == "approve":
            s.state, s.rating = S.APPROVED, inp.rating
        else:
            s.state = S.RETURNED
            patch = self._move_due(inp.new_due_at) if inp.new_due_at else None
        result = self._done(inp.key, "approved" if s.state == S.APPROVED else "returned")
        review = ReviewRecord(submission_key, inp.decision, inp.rating, inp.comment)
        data = {"decision": inp.decision, "rating": inp.rating, "comment": inp.comment}
        kind = f"review_{inp.decision}"
        notice = self._notice(kind, "department", inp.key, kind, inp.comment, rating=inp.rating)
        await self._record_telling(
            notice, "reviewed", inp.key, **self._who(inp), data=data, review=review, period=patch
        )
        return result

    @review.validator
    def _check_review(self, inp: ReviewInput) -> None:
        self._validate(check_review, inp)

    @workflow.update
    async def request_extension(self, inp: ExtensionRequestInput) -> ActionResult:
        """A department asks for a later due date; a supervisor decides."""
        if (done := self.s.results.get(inp.key)) is not None:
            return done
        self.s.pending_extensions[inp.key] = inp.requested_due_at
        result = self._done(inp.key, "extension_requested")
        ext = ExtensionRecord(inp.key, inp.requested_due_at, inp.reason)
        notice = self._notice(
            "extension_requested",
            "supervisors",
            inp.key,
            "extension_requested",
            inp.reason,
            requested_at=iso(inp.requested_due_at),
        )
        await self._record_telling(
            notice, "extension_requested", inp.key, **self._who(inp), extension=ext
        )
        return result

    @request_extension.validator
    def _check_request_extension(self, inp: ExtensionRequestInput) -> None:
        self._validate(check_extension_request, inp)

    @workflow.update
    async def decide_extension(self, inp: ExtensionDecisionInput) -> ActionResult:
        """Grant (moving the due date, the original kept) or refuse a pending request."""
        if (done := self.s.results.get(inp.key)) is not None:
            return done
        requested = self.s.pending_extensions.pop(inp.request_key)
        due = (inp.due_at or requested) if inp.grant else None
        patch = self._move_due(due) if due else None
        result = self._done(inp.key, "extension_granted" if inp.grant else "extension_refused")
        decision = ExtensionDecisionRecord(inp.request_key, inp.grant, due, inp.comment)
        data = {"grant": inp.grant, "due_at": due.isoformat() if due else None}
        code = "extension_granted" if due else "extension_refused"
        notice = self._notice(
            "extension_decided", "department", inp.key, code, inp.comment, due_at=iso(due)
        )
        await self._record_telling(
            notice,
            "extension_decided",
            inp.key,
            **self._who(inp),
            data=data,
            decision=decision,
            period=patch,
        )
        return result

    @decide_extension.validator
    def _check_decide_extension(self, inp: ExtensionDecisionInput) -> None:
        self._validate(check_extension_decision, inp)

    @workflow.update
    async def set_due(self, inp: SetDueInput) -> ActionResult:
        """A supervisor moves the current due date; the original stays on record."""
        if (done := self.s.results.get(inp.key)) is not None:
            return done
        patch = self._move_due(inp.due_at)
        result = self._done(inp.key, "due_set")
        data = {"due_at": inp.due_at.isoformat(), "reason": inp.reason}
        notice = self._notice(
            "due_moved", "department", inp.key, "due_moved", inp.reason, due_at=iso(inp.due_at)
        )
        await self._record_telling(
            notice, "due_moved", inp.key, **self._who(inp), data=data, period=patch
        )
        return result

    @set_due.validator
    def _check_set_due(self, inp: SetDueInput) -> None:
        self._validate(check_set_due, inp)

    # -- signals and query ------------------------------------------------------------

    @workflow.signal
    async def urge(self, inp: UrgeInput) -> None:
        """催办: remind the department now, once per key."""
        if inp.key in self.s.results or self.s.state == S.COMPLETED:
            return
        self._done(inp.key, "urged")
        await self._record("urged", inp.key, **self._who(inp), data={"message": inp.message})
        await self._notify("urge", "department", inp.key, "urge", inp.message)

    @workflow.signal
    def co_reported(self, inp: CoReportInput) -> None:
        """Note that a co-organizer reported for a period."""
        tag = f"{inp.period_index}:{inp.department_code}"
        if tag not in self.s.co_reported:
            self.s.co_reported.append(tag)
            self._wake += 1

    @workflow.signal
    async def revise(self, inp: AssignmentRevision) -> None:
        """Adopt a newer policy version: its plan replaces the periods not yet begun."""
        s, version = self.s, inp.policy_version
        if version <= s.policy_version:
            return
        s.policy_version = version
        if s.state == S.COMPLETED or s.withdrawn:
            return
        if inp.withdrawn:  # the run ends the assignment and records it as `withdrawn`
            s.withdrawn = True
            self._wake += 1
            await self._notify("withdrawn", "department", f"v{version}", "withdrawn")
            return
        if inp.role:  # a lead or co-organizer list changed: the period closes on the new list
            self.inp = replace(
                self.inp,
                role=inp.role,
                co_department_codes=inp.co_department_codes,
                lead_department_code=inp.lead_department_code,
            )
            self._wake += 1
        if not inp.periods:
            return
        plan = replan(self.inp.periods, inp.periods, s, workflow.now())
        if plan is None:
            return
        self.inp = replace(self.inp, periods=plan.periods)
        patch = self._move_due(plan.due_at) if plan.due_at else None
        self._wake += 1
        data = {
            "policy_version": version,
            "due_at": plan.due_at.isoformat() if plan.due_at else None,
            "periods": [{"label": p.label, "due_at": p.due_at.isoformat()} for p in plan.new],
        }
        step = f"v{version}"
        record = PlanRecord(plan.first_new, plan.new)
        await self._record("revised", step, data=data, period=patch, plan=record)
        if plan.due_at:
            await self._notify(
                "due_moved", "department", step, "revised_due", due_at=iso(plan.due_at)
            )

    @workflow.query
    def state(self) -> AssignmentStatus:
        """Return where the assignment stands now."""
        return self._status()
