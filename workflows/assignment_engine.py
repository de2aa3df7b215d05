"""The period engine behind AssignmentWorkflow: timers, the ladder, closing periods, read-model writes."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from duban.domain import AssignmentRole, AssignmentState
    from duban.messages import (
        BEGIN_ACTIVITY,
        NOTIFY_ACTIVITY,
        RECORD_ACTIVITY,
        URGENT_KINDS,
        BeginInput,
        EscalationRecord,
        NotifyInput,
        PeriodPatch,
        RecordInput,
        Snapshot,
    )

    from workflows.assignment_messages import (
        ActionResult,
        AssignmentCarry,
        AssignmentInput,
        AssignmentStatus,
        PeriodOutcome,
    )
    from workflows.assignment_rules import (
        bound_carry,
        ladder_audience,
        next_alarm,
        scoped_key,
    )

ACTIVITY_TIMEOUT = timedelta(seconds=30)
LOCAL_WRITES = "record-as-local-activity"
# A lead's approved period closes on its own terms; co-organizers report on their own clocks.
# Runs recorded before this waited for every co-organizer's report before closing.
LEAD_CLOSES_ALONE = "2026-12-02-lead-closes-alone"
# The carried update keys and co-organizer tags are bounded; runs before this carried them all.
BOUNDED_CARRY = "2026-12-02-bounded-carry"
# A member's report may wait for the head's sign-off (policy switch); runs before this had no
# such step, and only a submit that asks for it takes the patch.
HEAD_SIGN_OFF = "2026-12-02-head-sign-off"
# An Update's first write is a scheduled activity: the workflow task that accepts the Update
# completes with its ScheduleActivityTask command, and the server stores the acceptance with it,
# before anything is written. Runs before this wrote it as a local activity inside that task,
# before the server had stored the Update (lost, with its write kept, if the server restarted).
ACCEPT_BEFORE_WRITE = "2026-12-02-accept-before-write"
# What an Update tells others (notices, a co-organizer's report to its lead) goes out after it
# answers: the person who clicked waits for the durable write of their action, not for the
# notices too. The run waits for them before it continues or completes. Runs before this sent
# them before answering.
NOTIFY_AFTER_ANSWER = "2026-12-02-notify-after-answer"
# A run that takes this marker takes every change above without asking for each: one marker (and
# the one search-attribute upsert the SDK makes with it) instead of one per change, each in the
# task that first needed it (an acknowledge paid for LOCAL_WRITES'). Its period alarm timer also
# stays set while an action leaves the alarm where it was, instead of being cancelled and set
# again on every action. Bench (b): an acknowledge went from 15 history events to 11, the bare
# durable Update's count. Runs before this ask each change on its own and re-arm on every action.
CURRENT_RUN = "2026-12-02-current-run"
S = AssignmentState


def local_time(at: datetime | None) -> str:
    """Format a UTC time as Beijing time (UTC+8, no daylight saving) for the timeline's data."""
    return (at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") if at else "—"


def iso(at: datetime | None) -> str | None:
    """Return a time as a notice parameter (ISO 8601; the reader sees it in Beijing time)."""
    return at.isoformat() if at else None


class _Clock:
    """The one timer of a period's next alarm: set again only when the alarm's time moves."""

    def __init__(self) -> None:
        self.at: datetime | None = None
        self._timer: asyncio.Task[None] | None = None

    def set(self, at: datetime | None) -> None:
        """Run a timer until `at` (None: no timer), cancelling one set for another time."""
        if at == self.at and (at is None or self._timer is not None):
            return
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self.at, self._timer = at, None
        if at is not None:
            self._timer = asyncio.create_task(workflow.sleep(at - workflow.now()))

    def rang(self) -> bool:
        """Whether the timer has run out."""
        return self._timer is not None and self._timer.done()


class AssignmentEngine:
    """State and steps of one assignment run; AssignmentWorkflow adds the message handlers."""

    def _setup(self, inp: AssignmentInput) -> None:
        self.inp = inp
        self.s = inp.carry or AssignmentCarry(policy_version=inp.policy_version)
        self._wake = 0
        # Decided once per run, at its start (`_decide_patches`), never inside a wait condition.
        self._lead_waits_for_cos = True
        self._lock = asyncio.Lock()
        # Every write waits until the run's opening writes (`_begin`) are done.
        self._ready = False
        self._accept_first = False
        # The last Update whose acceptance is known stored (its first write was scheduled).
        self._stored_update: str | None = None
        # Steps an Update left running after it answered (NOTIFY_AFTER_ANSWER).
        self._after: set[asyncio.Task[None]] = set()
        # Whether this run takes CURRENT_RUN; asked once, by whichever step needs it first.
        self._current: bool | None = None
        # Open the period before any handler runs, so an early Update sees it.
        self._skip_history()
        self._opened = self.s.period_index < len(inp.periods) and not self.s.period_begun
        if self._opened:
            self._open_period()

    # -- lifecycle -----------------------------------------------------------------

    async def _continue(self) -> NoReturn:
        """Carry the state into a fresh run once every handler has finished."""
        await self._settled()
        self.s.runs += 1
        if self._takes(BOUNDED_CARRY):
            bound_carry(self.s)
        workflow.continue_as_new(replace(self.inp, carry=self.s))

    async def _settled(self) -> None:
        """Wait until every handler has finished and every step an Update left running after
        its answer (NOTIFY_AFTER_ANSWER) is done: a run ends or continues only then."""
        await workflow.wait_condition(lambda: not self._after)
        await workflow.wait_condition(workflow.all_handlers_finished)

    def _decide_patches(self) -> None:
        """Take the versioning decisions of this run, once, before its first step."""
        self._lead_waits_for_cos = not self._takes(LEAD_CLOSES_ALONE)
        self._accept_first = self._takes(ACCEPT_BEFORE_WRITE)

    def _takes(self, patch: str) -> bool:
        """Whether this run takes a change: every one in a run on CURRENT_RUN, else by its own
        marker (runs recorded before CURRENT_RUN replay their own markers where they were)."""
        return self._on_current_run() or workflow.patched(patch)

    def _on_current_run(self) -> bool:
        """Whether this run takes CURRENT_RUN, asked once by whichever step needs it first."""
        if self._current is None:
            self._current = workflow.patched(CURRENT_RUN)
        return self._current

    async def _begin(self) -> None:
        """Write the run's opening steps (periods, `assigned` + notice, `period_opened`) at once."""
        steps, notices, periods = [], [], []
        if self.inp.carry is None:
            periods = list(self.inp.periods)
            steps.append(self._step("assigned", "start", data={"role": self.inp.role}))
            notices.append(self._notice("assigned", "department", "start", "assigned"))
        if self._opened:
            spec = self.inp.periods[self.s.period_index]
            data = {"label": spec.label, "due_at": spec.due_at.isoformat()}
            steps.append(self._step("period_opened", "open", data=data))
        if steps:
            # A local activity: the writes run inside the first workflow task, which halves
            # the server's work per start. Every other write waits for `_ready` and holds
            # the lock, so no two local activities ever run at once (concurrent local
            # activities can replay out of order: sdk-python#1578).
            # Not under the lock: an early Update's write holds it while it waits for `_ready`.
            await workflow.execute_local_activity(
                BEGIN_ACTIVITY,
                BeginInput(self.inp.assignment_id, periods, steps, notices),
                result_type=int,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
            )
        self._ready = True

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
        if not self._on_current_run():
            return await self._watch_period_rearming()
        clock = _Clock()
        try:
            while not self._period_done():
                if workflow.info().is_continue_as_new_suggested():
                    return False
                alarm = next_alarm(self.s, self.inp.reminder_offsets, self.inp.escalation_offsets)
                if alarm is None or alarm.at > workflow.now():
                    clock.set(None if alarm is None else alarm.at)
                    seen = self._wake
                    await workflow.wait_condition(partial(self._changed_or_rang, seen, clock))
                    if not clock.rang():
                        continue
                    clock.set(None)
                if alarm is not None:
                    await self._ring(alarm.kind, alarm.n)
            return True
        finally:
            clock.set(None)

    async def _watch_period_rearming(self) -> bool:
        """`_watch_period` of runs before CURRENT_RUN: a fresh timer after every action."""
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

    def _changed_or_rang(self, seen: int, clock: _Clock) -> bool:
        return self._changed(seen) or clock.rang()

    def _changed(self, seen: int) -> bool:
        return self._wake != seen or self._period_done()

    def _period_done(self) -> bool:
        if self.s.withdrawn:
            return True
        if self.s.state != S.APPROVED:
            return False
        if self.inp.role != AssignmentRole.LEAD or not self._lead_waits_for_cos:
            return True
        tags = {f"{self.s.period_index}:{code}" for code in self.inp.co_department_codes}
        return tags <= set(self.s.co_reported)

    async def _ring(self, kind: str, n: int) -> None:
        s = self.s
        if kind == "reminder":
            s.reminders_sent.append(n)
            step = scoped_key(n, s.due_at.isoformat() if s.due_at else "")
            await self._record_telling(
                self._notice("reminder", "department", step, "reminder", due_at=iso(s.due_at)),
                "reminder",
                step,
                data={"due_at": local_time(s.due_at)},
            )
            return
        s.escalation_level = n
        audience, note_kind = ladder_audience(n)
        notice = self._notice(
            note_kind,
            audience,
            "ladder",
            "escalation",
            level=n,
            original_due_at=iso(s.original_due_at),
            due_at=iso(s.due_at),
        )
        await self._record_telling(
            notice, f"escalation_l{n}", "ladder", escalation=EscalationRecord(level=n)
        )

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

    async def _complete(self, kind: str = "completed") -> AssignmentStatus:
        """End the assignment: every period done, or `withdrawn` by a newer policy version."""
        self.s.state = S.COMPLETED
        await self._record(kind, "done", snapshot=self._snapshot(workflow.now()))
        await self._settled()
        return self._status()

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

    def _step(self, kind: str, step: str, **parts: Any) -> RecordInput:
        parts.setdefault("snapshot", self._snapshot())
        return RecordInput(
            key=self._key(kind, step),
            assignment_id=self.inp.assignment_id,
            kind=kind,
            at=workflow.now(),
            **parts,
        )

    async def _record(self, kind: str, step: str, **parts: Any) -> None:
        """Write one step to the read model, in the order the steps happened."""
        inp = self._step(kind, step, **parts)
        update = workflow.current_update_info()
        async with self._lock:
            await workflow.wait_condition(lambda: self._ready)
            # Most writes are local activities: they run inside the current workflow task, so
            # an Update's result returns after one round trip, not three. The lock keeps local
            # activities one at a time (sdk-python#1578); runs recorded before LOCAL_WRITES
            # replay their scheduled activities.
            if not self._takes(LOCAL_WRITES):
                scheduled = True
            elif self._accept_first and update is not None and update.id != self._stored_update:
                # An Update's first write is scheduled, not local: the server keeps an Update
                # only in memory until the workflow task that accepts it completes, and a local
                # activity runs before that completion, so a server restart in between would
                # leave a step in the read model that the workflow never took. The scheduled
                # activity starts only once the acceptance is stored. Every step that follows
                # from the Update (a period closed, an alarm rung) waits for this one on the lock.
                self._stored_update = update.id
                scheduled = True
            else:
                scheduled = False
            if scheduled:
                await workflow.execute_activity(
                    RECORD_ACTIVITY, inp, result_type=bool, start_to_close_timeout=ACTIVITY_TIMEOUT
                )
            else:
                await workflow.execute_local_activity(
                    RECORD_ACTIVITY,
                    inp,
                    result_type=bool,
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                )

    def _notice(
        self, kind: str, audience: str, step: str, code: str, body: str = "", **params: Any
    ) -> NotifyInput:
        """A notice by code (duban.messages.NOTICE_TEXTS): the reader's page renders the text."""
        return NotifyInput(
            key=self._key(kind, step),
            assignment_id=self.inp.assignment_id,
            kind=kind,
            audience=audience,
            body=body,
            code=code,
            params={
                "item": self.inp.item_number,
                "department": self.inp.department_code,
                **params,
            },
        )

    async def _notify(
        self, kind: str, audience: str, step: str, code: str, body: str = "", **params: Any
    ) -> None:
        """Write a notice (in an Update: after it answers, see NOTIFY_AFTER_ANSWER)."""
        notice = self._notice(kind, audience, step, code, body, **params)
        await self._after_answer(self._send_notice(notice))

    async def _record_telling(
        self, notice: NotifyInput, kind: str, step: str, **parts: Any
    ) -> None:
        """Write a step and the notice it causes. In a run on CURRENT_RUN a notice that is not
        mailed (not URGENT_KINDS) goes in the step's own write, one transaction, one activity;
        a mailed one, or any in older runs, follows as `_notify` sends it."""
        if self._on_current_run() and notice.kind not in URGENT_KINDS:
            await self._record(kind, step, notices=[notice], **parts)
            return
        await self._record(kind, step, **parts)
        await self._after_answer(self._send_notice(notice))

    async def _send_notice(self, notice: NotifyInput) -> None:
        await workflow.execute_activity(
            NOTIFY_ACTIVITY, notice, result_type=int, start_to_close_timeout=ACTIVITY_TIMEOUT
        )

    async def _after_answer(self, step: Coroutine[Any, Any, None]) -> None:
        """Run `step` now, or, in an Update of a run that takes NOTIFY_AFTER_ANSWER, after the
        Update answers (the run waits for it before it continues or completes)."""
        if workflow.current_update_info() is None or not self._takes(NOTIFY_AFTER_ANSWER):
            await step
            return
        task = asyncio.create_task(self._logged(step))
        self._after.add(task)
        task.add_done_callback(self._after.discard)

    @staticmethod
    async def _logged(step: Coroutine[Any, Any, None]) -> None:
        """Run a step no one awaits; a failure is logged (the action it follows stands)."""
        try:
            await step
        except ActivityError:
            workflow.logger.warning("a step after an answered Update failed", exc_info=True)

    def _done(self, key: str, code: str) -> ActionResult:
        """Remember an action's result (a code of duban.messages.ACTION_TEXTS) under its key and
        wake the period loop."""
        s = self.s
        result = ActionResult(key, s.state, s.period_index, s.due_at, "", code)
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

    def _status(self) -> AssignmentStatus:
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
