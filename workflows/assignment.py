"""AssignmentWorkflow: the periods of one task x department, with its messages and state."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.exceptions import TemporalError

with workflow.unsafe.imports_passed_through():
    from activities.notify import NotifyActivities, NotifyInput
    from activities.read_model import (
        EscalationRecord,
        ExtensionDecisionRecord,
        ExtensionRecord,
        PeriodPatch,
        PeriodRow,
        ReadModelActivities,
        RecordInput,
        RecordPeriodsInput,
        ReviewRecord,
        Snapshot,
        SubmissionRecord,
    )
    from duban.domain import AssignmentRole, AssignmentState, assignment_workflow_id


from workflows.assignment_rules import (
    check_acknowledge,
    check_extension_decision,
    check_extension_request,
    check_review,
    check_set_due,
    check_submit,
    ladder_audience,
    next_alarm,
    scoped_key,
)

ACTIVITY_TIMEOUT = timedelta(seconds=30)
S = AssignmentState


@dataclass(frozen=True)
class PeriodSpec:
    """A reporting period as planned at import."""

    index: int
    due_at: datetime
    label: str
    source: str = "cadence"
    historic: bool = False


@dataclass(frozen=True)
class ActionInput:
    """A plain human action (签收); `key` is the idempotency key and Update id."""

    key: str
    user_id: int
    actor: str


@dataclass(frozen=True)
class SubmitInput:
    """A progress report with evidence for the current period."""

    key: str
    user_id: int
    actor: str
    report: str
    evidence_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ReviewInput:
    """A supervisor's verdict: approve with a rating, or return with a reason."""

    key: str
    user_id: int
    actor: str
    decision: str
    rating: int | None = None
    comment: str = ""
    new_due_at: datetime | None = None


@dataclass(frozen=True)
class ExtensionRequestInput:
    """A department asks for a later due date."""

    key: str
    user_id: int
    actor: str
    requested_due_at: datetime
    reason: str


@dataclass(frozen=True)
class ExtensionDecisionInput:
    """A supervisor grants (optionally with another date) or refuses a request."""

    key: str
    user_id: int
    actor: str
    request_key: str
    grant: bool
    due_at: datetime | None = None
    comment: str = ""


@dataclass(frozen=True)
class SetDueInput:
    """A supervisor moves the current due date; the original stays on record."""

    key: str
    user_id: int
    actor: str
    due_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class UrgeInput:
    """A supervisor's one-click 催办."""

    key: str
    user_id: int
    actor: str
    message: str = ""


@dataclass(frozen=True)
class CoReportInput:
    """A co-organizer tells its lead that it reported for a period."""

    department_code: str
    period_index: int


@dataclass(frozen=True)
class AssignmentRevision:
    """A new policy version reached a running assignment."""

    policy_version: int


@dataclass(frozen=True)
class ActionResult:
    """What an Update did; a repeated key returns the first result."""

    key: str
    state: str
    period_index: int
    due_at: datetime | None
    message: str


@dataclass
class PeriodOutcome:
    """How a closed period ended."""

    index: int
    state: str
    due_at: datetime
    original_due_at: datetime
    closed_at: datetime | None = None
    on_time: bool | None = None
    rating: int | None = None


@dataclass
class AssignmentCarry:
    """The live state of an assignment, carried into the next run by continue-as-new."""

    period_index: int = 0
    period_begun: bool = False
    state: str = AssignmentState.ASSIGNED.value
    due_at: datetime | None = None
    original_due_at: datetime | None = None
    due_set_at: datetime | None = None
    escalation_level: int = 0
    acknowledged_at: datetime | None = None
    submission_key: str | None = None
    submitted_at: datetime | None = None
    rating: int | None = None
    reminders_sent: list[int] = field(default_factory=list)
    pending_extensions: dict[str, datetime] = field(default_factory=dict)
    results: dict[str, ActionResult] = field(default_factory=dict)
    co_reported: list[str] = field(default_factory=list)
    outcomes: list[PeriodOutcome] = field(default_factory=list)
    policy_version: int = 0
    runs: int = 1


@dataclass(frozen=True)
class AssignmentInput:
    """Everything an assignment needs, decided at import; `carry` is set by continue-as-new."""

    policy_key: str
    item_number: int
    department_code: str
    assignment_id: int
    role: str
    periods: list[PeriodSpec]
    reminder_offsets: list[timedelta]
    escalation_offsets: list[timedelta]
    co_department_codes: list[str] = field(default_factory=list)
    policy_version: int = 1
    carry: AssignmentCarry | None = None
    lead_department_code: str = ""


@dataclass(frozen=True)
class AssignmentStatus:
    """The Query result: where the assignment stands now."""

    state: str
    period_index: int
    due_at: datetime | None
    original_due_at: datetime | None
    escalation_level: int
    pending_extensions: list[str]
    periods: list[PeriodOutcome]
    completed: bool
    policy_version: int
    acknowledged_at: datetime | None = None


def _local(at: datetime | None) -> str:
    """Format a UTC time as Beijing time (UTC+8, no daylight saving) for messages."""
    return (at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") if at else "—"


@workflow.defn
class AssignmentWorkflow:
    """Run one assignment period by period: reminders, due, ladder, submission, review."""

    @workflow.init
    def __init__(self, inp: AssignmentInput) -> None:
        self.inp = inp
        self.s = inp.carry or AssignmentCarry(policy_version=inp.policy_version)
        self._wake = 0
        self._lock = asyncio.Lock()
        self._ready = inp.carry is not None
        # Open the period before any handler runs, so an early Update sees it.
        self._skip_history()
        self._opened = self.s.period_index < len(inp.periods) and not self.s.period_begun
        if self._opened:
            self._open_period()

    @workflow.run
    async def run(self, inp: AssignmentInput) -> AssignmentStatus:
        """Run the current period, then continue-as-new into the next one."""
        if inp.carry is None:
            await self._start()
        if self._opened:
            spec = inp.periods[self.s.period_index]
            data = {"label": spec.label, "due_at": spec.due_at.isoformat()}
            await self._record("period_opened", "open", data=data)
        if self.s.period_begun:
            if not await self._watch_period():
                await self._continue()
            await self._close_period()
        if self.s.period_index < len(inp.periods):
            await self._continue()
        return await self._complete()

    # -- lifecycle -----------------------------------------------------------------

    async def _continue(self) -> NoReturn:
        """Carry the state into a fresh run once every handler has finished."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.s.runs += 1
        workflow.continue_as_new(replace(self.inp, carry=self.s))

    async def _start(self) -> None:
        rows = [
            PeriodRow(p.index, p.due_at, p.label, p.source, p.historic) for p in self.inp.periods
        ]
        await workflow.execute_activity_method(
            ReadModelActivities.record_periods,
            RecordPeriodsInput(self.inp.assignment_id, rows),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )
        self._ready = True
        await self._record("assigned", "start", data={"role": self.inp.role})
        title = f"新督办任务：第{self.inp.item_number}项，请及时签收"
        await self._notify("assigned", "department", "start", title)

    def _skip_history(self) -> None:
        """Keep deadlines already past at import as history: no reminders, no ladder."""
        periods = self.inp.periods
        while (
            not self.s.period_begun
            and self.s.period_index < len(periods)
            and periods[self.s.period_index].historic
        ):
            spec = periods[self.s.period_index]
            self.s.outcomes.append(PeriodOutcome(spec.index, "historic", spec.due_at, spec.due_at))
            self.s.period_index += 1

    def _open_period(self) -> None:
        s, spec = self.s, self.inp.periods[self.s.period_index]
        s.due_at = s.original_due_at = spec.due_at
        s.due_set_at = workflow.now()
        s.escalation_level, s.reminders_sent, s.pending_extensions = 0, [], {}
        s.submission_key, s.submitted_at, s.rating = None, None, None
        s.state = S.IN_PROGRESS if s.acknowledged_at else S.ASSIGNED
        s.period_begun = True

    async def _watch_period(self) -> bool:
        """Ring reminders and rungs until the period closes; False when history is long."""
        while not self._period_done():
            if workflow.info().is_continue_as_new_suggested():
                return False
            alarm = next_alarm(self.s, self.inp.reminder_offsets, self.inp.escalation_offsets)
            seen = self._wake
            timeout = None if alarm is None else (alarm.at - workflow.now()).total_seconds()
            if timeout is None or timeout > 0:
                try:
                    await workflow.wait_condition(partial(self._changed, seen), timeout=timeout)
                    continue
                except TimeoutError:
                    pass
            if alarm is not None:
                await self._ring(alarm.kind, alarm.n)
        return True

    def _changed(self, seen: int) -> bool:
        return self._wake != seen or self._period_done()

    def _period_done(self) -> bool:
        if self.s.state != S.APPROVED:
            return False
        if self.inp.role != AssignmentRole.LEAD:
            return True
        tags = {f"{self.s.period_index}:{code}" for code in self.inp.co_department_codes}
        return tags <= set(self.s.co_reported)

    async def _ring(self, kind: str, n: int) -> None:
        s = self.s
        if kind == "reminder":
            s.reminders_sent.append(n)
            step = scoped_key(n, s.due_at.isoformat() if s.due_at else "")
            await self._record("reminder", step, data={"due_at": _local(s.due_at)})
            title = f"第{self.inp.item_number}项任务将于 {_local(s.due_at)} 到期，请按时报送"
            await self._notify("reminder", "department", step, title)
            return
        s.escalation_level = n
        await self._record(f"escalation_l{n}", "ladder", escalation=EscalationRecord(level=n))
        audience, note_kind = ladder_audience(n)
        title = f"【{n}级督办】第{self.inp.item_number}项任务（{self.inp.department_code}）已逾期"
        body = f"原定期限 {_local(s.original_due_at)}，当前期限 {_local(s.due_at)}，尚未报送。"
        await self._notify(note_kind, audience, "ladder", title, body)

    async def _close_period(self) -> None:
        s, now = self.s, workflow.now()
        on_time = bool(s.submitted_at and s.due_at and s.submitted_at <= s.due_at)
        assert s.due_at is not None and s.original_due_at is not None
        s.outcomes.append(
            PeriodOutcome(
                s.period_index, "approved", s.due_at, s.original_due_at, now, on_time, s.rating
            )
        )
        patch = PeriodPatch(
            s.period_index, state="approved", closed_at=now, on_time=on_time, rating=s.rating
        )
        await self._record("period_closed", "close", period=patch, data={"on_time": on_time})
        s.period_index += 1
        s.period_begun = False

    async def _complete(self) -> AssignmentStatus:
        self.s.state = S.COMPLETED
        await self._record("completed", "done", snapshot=self._snapshot(workflow.now()))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    # -- writes ----------------------------------------------------------------------

    def _snapshot(self, completed_at: datetime | None = None) -> Snapshot:
        s = self.s
        return Snapshot(
            state=s.state,
            period_index=s.period_index,
            due_at=s.due_at,
            original_due_at=s.original_due_at,
            escalation_level=s.escalation_level,
            acknowledged_at=s.acknowledged_at,
            completed_at=completed_at,
        )

    def _key(self, kind: str, step: str) -> str:
        return scoped_key(workflow.info().workflow_id, f"p{self.s.period_index}", kind, step)

    async def _record(self, kind: str, step: str, **parts: Any) -> None:
        """Write one step to the read model, in the order the steps happened."""
        parts.setdefault("snapshot", self._snapshot())
        inp = RecordInput(
            key=self._key(kind, step),
            assignment_id=self.inp.assignment_id,
            kind=kind,
            at=workflow.now(),
            **parts,
        )
        async with self._lock:
            await workflow.wait_condition(lambda: self._ready)
            await workflow.execute_activity_method(
                ReadModelActivities.record, inp, start_to_close_timeout=ACTIVITY_TIMEOUT
            )

    async def _notify(
        self, kind: str, audience: str, step: str, title: str, body: str = ""
    ) -> None:
        inp = NotifyInput(
            key=self._key(kind, step),
            assignment_id=self.inp.assignment_id,
            kind=kind,
            audience=audience,
            title=title,
            body=body,
        )
        await workflow.execute_activity_method(
            NotifyActivities.notify, inp, start_to_close_timeout=ACTIVITY_TIMEOUT
        )

    def _done(self, key: str, message: str) -> ActionResult:
        """Remember an action's result under its key and wake the period loop."""
        s = self.s
        result = ActionResult(key, s.state, s.period_index, s.due_at, message)
        s.results[key] = result
        self._wake += 1
        return result

    def _move_due(self, due_at: datetime) -> PeriodPatch:
        """Move the due date (the original stays) and re-arm the reminders."""
        self.s.due_at, self.s.due_set_at, self.s.reminders_sent = due_at, workflow.now(), []
        return PeriodPatch(self.s.period_index, due_at=due_at)

    def _validate(self, check: Any, inp: Any) -> None:
        if inp.key not in self.s.results:
            check(self.s, inp, workflow.now())

    def _who(self, inp: Any) -> dict[str, Any]:
        return {"actor_id": inp.user_id, "actor": inp.actor}

    # -- updates -----------------------------------------------------------------------

    @workflow.update
    async def acknowledge(self, inp: ActionInput) -> ActionResult:
        """签收: the department takes the task on."""
        if (done := self.s.results.get(inp.key)) is not None:
            return done
        self.s.state, self.s.acknowledged_at = S.ACKNOWLEDGED, workflow.now()
        result = self._done(inp.key, "已签收")
        await self._record("acknowledged", inp.key, **self._who(inp))
        return result

    @acknowledge.validator
    def _check_acknowledge(self, inp: ActionInput) -> None:
        self._validate(check_acknowledge, inp)

    @workflow.update
    async def submit(self, inp: SubmitInput) -> ActionResult:
        """Report progress for the current period; stops the ladder."""
        if (done := self.s.results.get(inp.key)) is not None:
            return done
        s, now = self.s, workflow.now()
        late = bool(s.due_at and now > s.due_at)
        s.acknowledged_at = s.acknowledged_at or now
        s.state, s.submission_key, s.submitted_at = S.SUBMITTED, inp.key, now
        result = self._done(inp.key, "已报送，等待审核")
        await self._record(
            "submitted",
            inp.key,
            **self._who(inp),
            data={"late": late, "evidence_ids": list(inp.evidence_ids)},
            submission=SubmissionRecord(inp.key, inp.report, list(inp.evidence_ids), late),
            escalation=EscalationRecord(resolve=True) if s.escalation_level else None,
        )
        title = f"第{self.inp.item_number}项任务（{self.inp.department_code}）已报送，待审核"
        await self._notify("submitted", "supervisors", inp.key, title)
        await self._tell_lead(s.period_index)
        return result

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
        result = self._done(inp.key, "已审核通过" if s.state == S.APPROVED else "已退回")
        review = ReviewRecord(submission_key, inp.decision, inp.rating, inp.comment)
        data = {"decision": inp.decision, "rating": inp.rating, "comment": inp.comment}
        await self._record(
            "reviewed", inp.key, **self._who(inp), data=data, review=review, period=patch
        )
        verdict = (
            f"已通过（{inp.rating}分）" if inp.decision == "approve" else "被退回，请修改后重新报送"
        )
        title = f"第{self.inp.item_number}项任务的报送{verdict}"
        await self._notify(f"review_{inp.decision}", "department", inp.key, title, inp.comment)
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
        result = self._done(inp.key, "延期申请已提交，等待审批")
        ext = ExtensionRecord(inp.key, inp.requested_due_at, inp.reason)
        await self._record("extension_requested", inp.key, **self._who(inp), extension=ext)
        title = f"第{self.inp.item_number}项任务（{self.inp.department_code}）申请延期至 {_local(inp.requested_due_at)}"
        await self._notify("extension_requested", "supervisors", inp.key, title, inp.reason)
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
        result = self._done(inp.key, "已批准延期" if inp.grant else "已驳回延期申请")
        decision = ExtensionDecisionRecord(inp.request_key, inp.grant, due, inp.comment)
        data = {"grant": inp.grant, "due_at": due.isoformat() if due else None}
        await self._record(
            "extension_decided",
            inp.key,
            **self._who(inp),
            data=data,
            decision=decision,
            period=patch,
        )
        verdict = f"已批准，新期限 {_local(due)}" if due else "未获批准"
        title = f"第{self.inp.item_number}项任务的延期申请{verdict}"
        await self._notify("extension_decided", "department", inp.key, title, inp.comment)
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
        result = self._done(inp.key, "期限已调整")
        data = {"due_at": inp.due_at.isoformat(), "reason": inp.reason}
        await self._record("due_moved", inp.key, **self._who(inp), data=data, period=patch)
        title = f"第{self.inp.item_number}项任务的期限调整为 {_local(inp.due_at)}"
        await self._notify("due_moved", "department", inp.key, title, inp.reason)
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
        self._done(inp.key, "已催办")
        await self._record("urged", inp.key, **self._who(inp), data={"message": inp.message})
        title = f"督办催办：请尽快办理第{self.inp.item_number}项任务"
        await self._notify("urge", "department", inp.key, title, inp.message)

    @workflow.signal
    def co_reported(self, inp: CoReportInput) -> None:
        """Note that a co-organizer reported for a period."""
        tag = f"{inp.period_index}:{inp.department_code}"
        if tag not in self.s.co_reported:
            self.s.co_reported.append(tag)
            self._wake += 1

    @workflow.signal
    def revise(self, inp: AssignmentRevision) -> None:
        """Take note of a newer policy version."""
        self.s.policy_version = max(self.s.policy_version, inp.policy_version)

    @workflow.query
    def state(self) -> AssignmentStatus:
        """Return where the assignment stands now."""
        s = self.s
        current = [
            PeriodOutcome(
                p.index, s.state if p.index == s.period_index else "planned", p.due_at, p.due_at
            )
            for p in self.inp.periods[len(s.outcomes) :]
        ]
        if current and s.due_at and current[0].index == s.period_index:
            current[0].due_at = s.due_at
        return AssignmentStatus(
            state=s.state,
            period_index=s.period_index,
            due_at=s.due_at,
            original_due_at=s.original_due_at,
            escalation_level=s.escalation_level,
            pending_extensions=sorted(s.pending_extensions),
            periods=[*s.outcomes, *current],
            completed=s.state == S.COMPLETED,
            policy_version=s.policy_version,
            acknowledged_at=s.acknowledged_at,
        )
