"""A sub-assignment on the time-skipping server: its own workflow, and its ladder reaches the parent."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select

from actions.cascade import split
from actions.clients import LazyTemporal
from actions.draft import Intake
from duban.models import Assignment, Department, Notification, User
from duban.services.cascade import SubSpec
from duban.settings import Settings
from tests.workflows.conftest import assert_eventually, duban_worker
from tests.workflows.seed import DAY, code_of, seed
from workflows.assignment import AssignmentWorkflow

HOUR = DAY / 24


def _arrange(factory, now):
    """Seed a department's assignment due in 30 days and a division under it with a head."""
    seeded = seed(factory)
    with factory.begin() as s:
        fpb = s.scalars(select(Department).where(Department.code == code_of(seeded, "fpb"))).one()
        fpb.kind = "department"
        division = Department(
            code=f"div-{seeded.policy_key}",
            name=f"规划处-{seeded.policy_key}",
            kind="division",
            parent_id=fpb.id,
        )
        s.add(division)
        s.flush()
        s.add(
            User(
                username=f"div-head-{seeded.policy_key}",
                password_hash="x",
                role="head",
                department_id=division.id,
            )
        )
        parent = s.get_one(Assignment, seeded.assignment_ids["fpb"])
        parent.due_at = now + 30 * DAY
        staff = s.get_one(User, seeded.users["fpb-staff"])
        return seeded, division.code, SimpleNamespace(id=staff.id)


def _told(factory, kind, key):
    """Return who got a notification of `kind` (usernames without the test's key)."""
    with factory() as s:
        rows = s.scalars(
            select(User.username)
            .join(Notification, Notification.user_id == User.id)
            .where(Notification.kind == kind)
        ).all()
        return sorted(name.replace(f"-{key}", "") for name in rows)


async def test_a_sub_assignment_runs_on_its_own_workflow_and_climbs_to_the_parent_first(
    time_env, session_factory, tmp_path
):
    now = await time_env.get_current_time()
    seeded, division, staff = _arrange(session_factory, now)
    worker = duban_worker(time_env.client, session_factory)
    settings = Settings(
        data_dir=tmp_path,
        secret_key="test-secret",
        task_queue=worker.task_queue,
        escalation_offsets="P1D,P7D,P14D",
    )
    intake = Intake(
        LazyTemporal(settings, time_env.client), session_factory, session_factory, settings
    )
    with session_factory() as s:
        user = s.get_one(User, staff.id)
        s.expunge(user)
    async with worker:
        made = await split(
            intake,
            parent_id=seeded.assignment_ids["fpb"],
            spec=SubSpec(division, now + 10 * DAY, 50),
            user=user,
        )
        assert made.started
        with session_factory() as s:
            workflow_id = s.get_one(Assignment, made.child_id).workflow_id
        assert workflow_id == seeded.workflow_id(division)
        handle = time_env.client.get_workflow_handle_for(AssignmentWorkflow.run, workflow_id)

        async def opened():
            with session_factory() as s:
                child = s.get_one(Assignment, made.child_id)
                assert (
                    not child.pending_start
                    and child.due_at is not None
                    and child.parent_id == seeded.assignment_ids["fpb"]
                )

        await assert_eventually(opened)
        await time_env.sleep(11 * DAY + HOUR)

        async def first_rung():
            assert (await handle.query(AssignmentWorkflow.state)).escalation_level >= 1
            assert _told(session_factory, "escalation_l1", seeded.policy_key) == [
                "div-head",
                "fpb-head",
                "fpb-staff",
            ]

        await assert_eventually(first_rung)
        assert _told(session_factory, "escalation_l2", seeded.policy_key) == []
        await time_env.sleep(7 * DAY)

        async def second_rung():
            assert _told(session_factory, "escalation_l2", seeded.policy_key) == ["sup"]

        await assert_eventually(second_rung)
        await handle.terminate("test over")
