"""`make drill`: concurrent 签收 / 报送 / 审核 calls over HTTP while the stack is hurt; count what was lost.

Three faults, one after the other, each on its own share of the assignments: (a) the worker
is killed with SIGKILL and started again, (b) the Temporal dev server is restarted on its
SQLite file, (c) the drill's own PostgreSQL is stopped as in a crash and started again. The
clients act like a careful program: every action carries an idempotency key (the API's `key`)
and a 503 is sent again with the same key after its Retry-After; a request that got no HTTP
answer at all is sent again too. Afterwards every action is looked up in the workflow
histories, the read model and the audit trail, and `duban audit verify` walks the chain.

    python -m bench.drill [--per-fault 334] [--concurrency 64]     # writes bench/drill.md
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from actions.temporal import connect
from bench.drill_stack import DrillStack, Target, drill_stack
from duban.models import Assignment, AuditEvent, Submission
from duban.settings import Settings

HERE = Path(__file__).resolve().parent
# (client verb, path under the assignment, audit kind); the web scopes a key as verb:id:key.
VERBS = (
    ("ack", "acknowledge", "acknowledged"),
    ("submit", "submissions", "submitted"),
    ("review", "review", "reviewed"),
)
FAULTS = ("worker killed -9", "Temporal restarted", "PostgreSQL restarted")


@dataclass
class Action:
    """One logical call: one assignment, one verb, one idempotency key, however many sends."""

    fault: str
    target: Target
    verb: str
    key: str
    status: int | None = None  # the final HTTP status; None when no answer came in time
    detail: str = ""

    @property
    def scoped(self) -> str:
        """The key the web hands Temporal (`actions.assignment.action_key`)."""
        return f"{self.verb}:{self.target.assignment_id}:{self.key}"

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Tally:
    """What the clients saw during one fault, and what the reconciliation found."""

    fault: str
    sent: int = 0  # actions (each one key)
    ok: int = 0  # actions answered 2xx in the end
    refused: int = 0  # actions answered 4xx in the end
    unavailable: int = 0  # 503 answers (each one sent again)
    retried: int = 0  # sends after the first, same key
    no_answer: int = 0  # sends that got no HTTP answer (connection refused or cut): sent again
    other_5xx: int = 0  # answers 5xx other than 503
    no_retry_after: int = 0  # 503 answers without a Retry-After header
    gave_up: int = 0  # actions still without a final answer at the deadline
    lost: int = 0  # 2xx, yet missing from workflow history, read model or audit trail
    duplicated: int = 0  # recorded more than once anywhere
    phantom: int = 0  # no 2xx, yet recorded somewhere
    redelivered: int = 0  # accepted again by Temporal, answered from the workflow's results
    fault_at: float = 0.0  # seconds into the storm when the fault began
    in_flight: int = 0  # actions without a final answer when the fault began
    outage: float = 0.0  # seconds the fault itself took (kill + restart)
    seconds: float = 0.0  # the storm, first send to last answer
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


@dataclass
class ClientPolicy:
    """How the drill's clients behave."""

    concurrency: int
    retry_cap: float  # longest wait honoured from a Retry-After (seconds)
    deadline: float  # seconds an action may keep retrying


async def act(
    http: httpx.AsyncClient,
    stack: DrillStack,
    tally: Tally,
    a: Action,
    how: ClientPolicy,
    headers: dict[str, str],
) -> bool:
    """Send one action until it is answered 2xx or 4xx; count every answer on the way."""
    aid = a.target.assignment_id
    path = next(p for v, p, _ in VERBS if v == a.verb)
    body: dict[str, Any] = {"key": a.key}
    if a.verb == "submit":
        body["report"] = "本期演练工作已完成。"
    elif a.verb == "review":
        body |= {"decision": "approve", "rating": 4}
    url = f"/api/v1/assignments/{aid}/{path}"
    stop_at = time.monotonic() + how.deadline
    attempt = 0
    while True:
        base = stack.webs[(aid + attempt) % len(stack.webs)]  # a retry may reach the other web
        if attempt:
            tally.retried += 1
        try:
            answer = await http.post(base + url, json=body, headers=headers)
        except httpx.TransportError as exc:
            tally.no_answer += 1
            a.detail = f"{type(exc).__name__}"
            wait = 1.0
        else:
            tally.statuses[answer.status_code] += 1
            a.status = answer.status_code
            if answer.status_code < 300:
                tally.ok += 1
                return True
            a.detail = answer.text[:200]
            if answer.status_code == 503:
                tally.unavailable += 1
                retry_after = answer.headers.get("retry-after")
                if retry_after is None:
                    tally.no_retry_after += 1
                wait = min(float(retry_after or 1), how.retry_cap)
            elif answer.status_code < 500:
                tally.refused += 1
                return False
            else:
                tally.other_5xx += 1
                return False
        attempt += 1
        if time.monotonic() > stop_at:
            tally.gave_up += 1
            a.status = None
            return False
        await asyncio.sleep(wait)  # the client's back-off, as Retry-After asks


async def storm(
    stack: DrillStack,
    tally: Tally,
    targets: list[Target],
    fault: Callable[[], Awaitable[None]],
    how: ClientPolicy,
) -> list[Action]:
    """Run every target's 签收 → 报送 → 审核 chain, `concurrency` chains at a time; hurt the stack
    once a quarter of the actions are answered, while the rest are in flight."""
    actions: list[Action] = []
    answered = 0
    trigger = asyncio.Event()
    threshold = max(1, len(targets) * len(VERBS) // 4)
    gate = asyncio.Semaphore(how.concurrency)
    started = time.monotonic()
    limits = httpx.Limits(
        max_connections=how.concurrency * 2, max_keepalive_connections=how.concurrency
    )
    tag = tally.fault.split()[0].lower()

    async def chain(http: httpx.AsyncClient, t: Target) -> None:
        nonlocal answered
        async with gate:
            for verb, _, _ in VERBS:
                a = Action(tally.fault, t, verb, f"drill-{tag}-{t.assignment_id}-{verb}")
                actions.append(a)
                tally.sent += 1
                headers = stack.supervisor if verb == "review" else t.staff
                done = await act(http, stack, tally, a, how, headers)
                answered += 1
                if answered >= threshold:
                    trigger.set()
                if not done:
                    return

    async def hurt() -> None:
        await trigger.wait()
        tally.fault_at = time.monotonic() - started
        tally.in_flight = tally.sent - answered + (len(targets) * len(VERBS) - tally.sent)
        begun = time.monotonic()
        await fault()
        tally.outage = time.monotonic() - begun

    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        hurting = asyncio.create_task(hurt())
        await asyncio.gather(*(chain(http, t) for t in targets))
        trigger.set()
        await hurting
    tally.seconds = time.monotonic() - started
    return actions


@dataclass
class UpdateTrace:
    """What one workflow's histories (every run) say of each Update id."""

    accepted: Counter[str] = field(default_factory=Counter)  # all runs
    within_run: Counter[str] = field(default_factory=Counter)  # most acceptances in one run
    outcomes: dict[str, set[bytes]] = field(default_factory=dict)  # distinct answers given

    def times(self, update_id: str) -> int:
        """How many times the Update took effect: once per distinct answer.

        An Update sent again with its id after the workflow continued as new (or after the
        server lost its record of the id) is accepted again; the workflow answers it from
        the results it carries, without a second step, so the answer is the same bytes.
        A second real step would answer differently (another state) or be refused.
        """
        if not self.accepted[update_id]:
            return 0
        return max(len(self.outcomes.get(update_id, ())), self.within_run[update_id])


async def history_trace(client: Client, workflow_id: str) -> UpdateTrace:
    """Read every run of a workflow, newest first, following continued_execution_run_id."""
    trace = UpdateTrace()
    run_id: str | None = None
    while True:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        previous = ""
        in_run: Counter[str] = Counter()
        async for event in handle.fetch_history_events():
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                attrs = event.workflow_execution_started_event_attributes
                previous = attrs.continued_execution_run_id
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                accepted = event.workflow_execution_update_accepted_event_attributes
                in_run[accepted.accepted_request.meta.update_id] += 1
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                completed = event.workflow_execution_update_completed_event_attributes
                outcome = completed.outcome.SerializeToString(deterministic=True)
                trace.outcomes.setdefault(completed.meta.update_id, set()).add(outcome)
        trace.accepted.update(in_run)
        for update_id, n in in_run.items():
            trace.within_run[update_id] = max(trace.within_run[update_id], n)
        if not previous:
            return trace
        run_id = previous


async def reconcile(stack: DrillStack, tallies: dict[str, Tally], actions: list[Action]) -> None:
    """Find each action in the workflow histories, the read model and the audit trail."""
    client = await connect(Settings(temporal_address=stack.server.address))
    targets = {a.target.assignment_id: a.target for a in actions}
    gate = asyncio.Semaphore(16)
    histories: dict[int, UpdateTrace] = {}

    async def one(t: Target) -> None:
        async with gate:
            histories[t.assignment_id] = await history_trace(client, t.workflow_id)

    await asyncio.gather(*(one(t) for t in targets.values()))
    ids = list(targets)
    with stack.factory() as session:
        audit: Counter[tuple[int, str]] = Counter()
        audit_keys: dict[tuple[int, str], list[str]] = {}
        for aid, kind, key in session.execute(
            select(AuditEvent.assignment_id, AuditEvent.kind, AuditEvent.key).where(
                AuditEvent.assignment_id.in_(ids),
                AuditEvent.kind.in_([k for _, _, k in VERBS]),
            )
        ):
            assert aid is not None
            audit[(aid, kind)] += 1
            audit_keys.setdefault((aid, kind), []).append(key)
        acknowledged = {
            aid
            for aid, at in session.execute(
                select(Assignment.id, Assignment.acknowledged_at).where(Assignment.id.in_(ids))
            )
            if at is not None
        }
        submitted: Counter[str] = Counter(
            dict(
                session.execute(
                    select(Submission.key, func.count())
                    .where(Submission.assignment_id.in_(ids))
                    .group_by(Submission.key)
                ).all()
            )
        )
        reviewed: Counter[int] = Counter(
            dict(
                session.execute(
                    select(Submission.assignment_id, func.count())
                    .where(Submission.assignment_id.in_(ids), Submission.reviewed_at.is_not(None))
                    .group_by(Submission.assignment_id)
                ).all()
            )
        )
    for a in actions:
        aid, tally = a.target.assignment_id, tallies[a.fault]
        kind = next(k for v, _, k in VERBS if v == a.verb)
        in_workflow = histories[aid].times(a.scoped)
        if histories[aid].accepted[a.scoped] > in_workflow:
            tally.redelivered += 1
        in_audit = sum(1 for key in audit_keys.get((aid, kind), []) if key.endswith(a.scoped))
        other_audit = audit[(aid, kind)] - in_audit  # the same step under another key
        if a.verb == "ack":
            in_read = 1 if aid in acknowledged else 0
        elif a.verb == "submit":
            in_read = submitted[a.scoped]
        else:
            in_read = reviewed[aid]
        places = {"workflow": in_workflow, "read model": in_read, "audit": in_audit}
        if a.ok and min(places.values()) == 0:
            tally.lost += 1
            tally.problems.append(f"lost {a.scoped}: {places}")
        if max(places.values()) > 1 or other_audit:
            tally.duplicated += 1
            tally.problems.append(f"duplicated {a.scoped}: {places} other audit {other_audit}")
        if not a.ok and max(places.values()) > 0:
            tally.phantom += 1
            tally.problems.append(f"phantom {a.scoped} ({a.status} {a.detail}): {places}")


@dataclass
class Drill:
    """The tallies per fault, `duban audit verify`'s line and the seconds of each phase."""

    tallies: list[Tally]
    verified: str
    phases: dict[str, float]


async def drill(folder: Path, *, per_fault: int, how: ClientPolicy) -> Drill:
    """Start the stack, run the three faults, reconcile and verify the audit chain."""
    clock = time.monotonic()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        phases[name] = time.monotonic() - clock
        clock = time.monotonic()

    async with drill_stack(folder, assignments=per_fault * len(FAULTS)) as stack:
        phases.update(stack.phases)
        clock = time.monotonic()
        workers = 0

        async def kill_worker() -> None:
            nonlocal workers
            code = await asyncio.to_thread(stack.worker.kill9)
            assert code == -9, code
            workers += 1
            stack.worker = stack.start_worker(f"worker-{workers}")

        async def restart_postgres() -> None:
            await asyncio.to_thread(stack.postgres.crash_restart)
            stack.factory.kw["bind"].dispose()  # the drill's own pool: its connections died

        faults: dict[str, Callable[[], Awaitable[None]]] = {
            FAULTS[0]: kill_worker,
            FAULTS[1]: stack.restart_temporal,
            FAULTS[2]: restart_postgres,
        }
        tallies = {name: Tally(name) for name in FAULTS}
        actions: list[Action] = []
        for n, (name, fault) in enumerate(faults.items()):
            share = stack.targets[n * per_fault : (n + 1) * per_fault]
            actions += await storm(stack, tallies[name], share, fault, how)
            lap(f"storm: {name}")
        await reconcile(stack, tallies, actions)
        lap("reconcile")
        verified = await asyncio.to_thread(stack.audit_verify)
        lap("audit verify")
        line = (verified.stdout + verified.stderr).strip()
        if verified.returncode != 0:
            for tally in tallies.values():
                tally.problems.append(f"audit verify failed: {line}")
        return Drill(list(tallies.values()), line, phases)


HEADER = (
    "| fault | sent | 2xx | 4xx | 503 | retried | lost | duplicated "
    "| phantom | redelivered | other 5xx | no answer | gave up | fault at (s) | unanswered "
    "| outage (s) | storm (s) |"
)


def row(t: Tally) -> str:
    return (
        f"| {t.fault} | {t.sent} | {t.ok} | {t.refused} | {t.unavailable} | {t.retried} "
        f"| **{t.lost}** | **{t.duplicated}** | {t.phantom} | {t.redelivered} | {t.other_5xx} | {t.no_answer} "
        f"| {t.gave_up} | {t.fault_at:.1f} | {t.in_flight} | {t.outage:.1f} | {t.seconds:.1f} |"
    )


def report(result: Drill, per_fault: int, how: ClientPolicy) -> str:
    """Return the Markdown report."""
    tallies, verify_line = result.tallies, result.verified
    lines = [
        "# duban drill",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. {per_fault} assignments per fault, each "
        f"签收 → 报送 → 审核 (approve) over `/api/v1`: {per_fault * 3} calls per fault, "
        f"{how.concurrency} assignments' chains at a time, two `duban web` (uvicorn) processes, "
        "one `duban worker`, a Temporal dev server on a SQLite file, a private PostgreSQL.",
        "The fault begins once a quarter of a fault's calls are answered.",
        "",
        HEADER,
        "|---|" + "---:|" * 16,
        *(row(t) for t in tallies),
        "",
        "- *sent*: calls (one idempotency key each); *2xx* / *4xx*: their final answers;",
        "  *503*: answers 503 + Retry-After, each sent again with the same key after",
        f"  min(Retry-After, {how.retry_cap:g} s); *retried*: sends after the first;",
        "  *no answer*: sends cut off without an HTTP answer (also sent again).",
        "- *lost*: a 2xx call missing from its workflow's history (accepted Update with that id),",
        "  the read model (acknowledged_at / the submission row / its review) or the audit trail;",
        "  *duplicated*: found more than once in any of them, or the step recorded under another",
        "  key; *phantom*: no 2xx, yet found somewhere; *redelivered*: a retry Temporal accepted",
        "  again in a later run (after a continue-as-new) and the workflow answered from the",
        "  results it carries, same bytes, no second step (not a duplicate).",
        "- *fault at*: seconds into the storm; *unanswered*: calls without a final answer then;",
        "  *outage*: seconds the kill / restart itself took.",
        f"- `duban audit verify`: {verify_line}",
        "- phases: " + ", ".join(f"{k} {v:.0f} s" for k, v in result.phases.items()),
        "",
    ]
    for t in tallies:
        if t.problems or t.statuses:
            codes = ", ".join(f"{n}× {c}" for c, n in sorted(t.statuses.items()))
            lines.append(f"- {t.fault}: statuses {codes}")
            lines += [f"  - {p}" for p in t.problems[:20]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--per-fault", type=int, default=334, help="assignments per fault (3 calls each)"
    )
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--retry-cap", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=HERE / "drill.md")
    args = parser.parse_args()
    how = ClientPolicy(args.concurrency, args.retry_cap, deadline=300.0)
    with tempfile.TemporaryDirectory(prefix="duban-drill-") as tmp:
        result = asyncio.run(drill(Path(tmp), per_fault=args.per_fault, how=how))
    text = report(result, args.per_fault, how)
    tallies, line = result.tallies, result.verified
    args.out.write_text(text, encoding="utf-8")
    print(text)  # noqa: T201 - the report is the program's output
    bad = any(t.lost or t.duplicated or t.phantom or t.other_5xx or t.gave_up for t in tallies)
    raise SystemExit(1 if bad or "broken" in line.lower() else 0)


if __name__ == "__main__":
    main()
