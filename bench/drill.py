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
from temporalio.client import Client, WorkflowExecutionStatus

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
    fault_at: float = 0.0  # seconds into the storm when the fault began
    in_flight: int = 0  # actions without a final answer when the fault began
    outage: float = 0.0  # seconds the fault itself took (kill + restart)
    seconds: float = 0.0  # the storm, first send to last answer
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


@dataclass
class Client_:
    """How the drill's clients behave."""

    concurrency: int
    retry_cap: float  # longest wait honoured from a Retry-After (seconds)
    deadline: float  # seconds an action may keep retrying


async def act(
    http: httpx.AsyncClient,
    stack: DrillStack,
    tally: Tally,
    a: Action,
    how: Client_,
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
    how: Client_,
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


async def history_counts(client: Client, workflow_id: str) -> tuple[Counter[str], bool]:
    """Count the Updates accepted in every run of a workflow, by Update id; tell if it completed."""
    counts: Counter[str] = Counter()
    run_id: str | None = None
    completed = False
    first = True
    while True:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        previous = ""
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                previous = (
                    event.workflow_execution_started_event_attributes.continued_execution_run_id
                )
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                attrs = event.workflow_execution_update_accepted_event_attributes
                counts[attrs.accepted_request.meta.update_id] += 1
        if first:
            completed = (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
            first = False
        if not previous:
            return counts, completed
        run_id = previous


async def reconcile(stack: DrillStack, tallies: dict[str, Tally], actions: list[Action]) -> None:
    """Find each action in the workflow histories, the read model and the audit trail."""
    client = await connect(Settings(temporal_address=stack.server.address))
    targets = {a.target.assignment_id: a.target for a in actions}
    gate = asyncio.Semaphore(16)
    histories: dict[int, Counter[str]] = {}

    async def one(t: Target) -> None:
        async with gate:
            histories[t.assignment_id], _ = await history_counts(client, t.workflow_id)

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
        in_workflow = histories[aid][a.scoped]
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


async def drill(folder: Path, *, per_fault: int, how: Client_) -> tuple[list[Tally], str]:
    """Run the three faults and reconcile; return the tallies and `duban audit verify`'s line."""
    async with drill_stack(folder, assignments=per_fault * len(FAULTS)) as stack:
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
        await reconcile(stack, tallies, actions)
        verified = await asyncio.to_thread(stack.audit_verify)
        line = (verified.stdout + verified.stderr).strip()
        if verified.returncode != 0:
            for tally in tallies.values():
                tally.problems.append(f"audit verify failed: {line}")
        return list(tallies.values()), line


HEADER = (
    "| fault | sent | 2xx | 4xx | 503 | retried | lost | duplicated "
    "| phantom | other 5xx | no answer | gave up | fault at (s) | in flight | outage (s) | storm (s) |"
)


def row(t: Tally) -> str:
    return (
        f"| {t.fault} | {t.sent} | {t.ok} | {t.refused} | {t.unavailable} | {t.retried} "
        f"| **{t.lost}** | **{t.duplicated}** | {t.phantom} | {t.other_5xx} | {t.no_answer} "
        f"| {t.gave_up} | {t.fault_at:.1f} | {t.in_flight} | {t.outage:.1f} | {t.seconds:.1f} |"
    )


def report(tallies: list[Tally], verify_line: str, per_fault: int, how: Client_) -> str:
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
        "|---|" + "---:|" * 15,
        *(row(t) for t in tallies),
        "",
        "- *sent*: calls (one idempotency key each); *2xx* / *4xx*: their final answers;",
        "  *503*: answers 503 + Retry-After, each sent again with the same key after",
        f"  min(Retry-After, {how.retry_cap:g} s); *retried*: sends after the first;",
        "  *no answer*: sends cut off without an HTTP answer (also sent again).",
        "- *lost*: a 2xx call missing from its workflow's history (accepted Update with that id),",
        "  the read model (acknowledged_at / the submission row / its review) or the audit trail;",
        "  *duplicated*: found more than once in any of them, or the step recorded under another",
        "  key; *phantom*: no 2xx, yet found somewhere.",
        f"- `duban audit verify`: {verify_line}",
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
    how = Client_(args.concurrency, args.retry_cap, deadline=300.0)
    with tempfile.TemporaryDirectory(prefix="duban-drill-") as tmp:
        tallies, line = asyncio.run(drill(Path(tmp), per_fault=args.per_fault, how=how))
    text = report(tallies, line, args.per_fault, how)
    args.out.write_text(text, encoding="utf-8")
    print(text)  # noqa: T201 - the report is the program's output
    bad = any(t.lost or t.duplicated or t.phantom or t.other_5xx or t.gave_up for t in tallies)
    raise SystemExit(1 if bad or "broken" in line.lower() else 0)


if __name__ == "__main__":
    main()
