"""Daily digest: an overdue assignment climbs the ladder and each person's digest reaches SMTP once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from actions import temporal as workflow_calls
from cli.jobs import DIGEST_JOB_ID, build_scheduler, run_digest
from duban.models import Notification, User
from duban.settings import Settings
from tests.smtp import smtp_server
from tests.workflows.conftest import assert_eventually, duban_worker
from tests.workflows.seed import assignment_input, seed
from workflows.assignment import AssignmentWorkflow, PeriodSpec

SEC = timedelta(seconds=1)


def _settings(tmp_path: Path, url: str, smtp_url: str | None) -> Settings:
    return Settings(
        data_dir=tmp_path, database_url=url, smtp_url=smtp_url, secret_key="digest-test"
    )


async def test_overdue_ladder_reaches_the_supervisors_digest(
    dev_env, session_factory, sqlite_url, tmp_path
):
    seeded = seed(session_factory)
    with session_factory.begin() as s:
        s.execute(
            update(User)
            .where(User.id == seeded.users["supervisor"])
            .values(email="duchashi@example.gov.cn", display_name="督查室王主任")
        )
        s.execute(
            update(User).where(User.id == seeded.users["fpb-head"]).values(email="head@example.cn")
        )
    now = await dev_env.get_current_time()
    inp = assignment_input(
        seeded,
        "fpb",
        [PeriodSpec(0, now + 2 * SEC, "第1期")],
        reminders=[],
        ladder=[SEC, 2 * SEC, 3 * SEC],
    )
    client, wf_id = dev_env.client, seeded.workflow_id("fpb")
    async with duban_worker(client, session_factory) as worker:
        await client.start_workflow(
            AssignmentWorkflow.run, inp, id=wf_id, task_queue=worker.task_queue
        )

        async def level_three() -> None:
            assert (await workflow_calls.query_state(client, wf_id)).escalation_level == 3

        await assert_eventually(level_three, within=30)

        async def supervisor_notified() -> None:
            with session_factory() as s:
                kinds = s.scalars(
                    select(Notification.kind).where(
                        Notification.user_id == seeded.users["supervisor"]
                    )
                ).all()
            assert {"escalation_l2", "escalation_l3"} <= set(kinds)

        await assert_eventually(supervisor_notified, within=10)
        await client.get_workflow_handle(wf_id).terminate("test over")

    with smtp_server() as (inbox, smtp_url):
        sent = await run_digest(_settings(tmp_path, sqlite_url, smtp_url), session_factory)
        again = await run_digest(_settings(tmp_path, sqlite_url, smtp_url), session_factory)
    assert sent == 2 and again == 0  # supervisor and head, each once; nothing twice
    [mail] = inbox.to("duchashi@example.gov.cn")
    text = mail.get_content()
    assert "督办" in mail["Subject"]
    assert "督查室王主任" in text and "【2级督办】" in text and "【3级督办】" in text
    assert len(inbox.to("head@example.cn")) == 1
    with session_factory() as s:
        unsent = s.scalars(
            select(Notification.id).where(
                Notification.user_id == seeded.users["supervisor"],
                Notification.emailed_at.is_(None),
            )
        ).all()
    assert unsent == []


async def test_digest_without_smtp_url_sends_nothing_and_keeps_rows(
    session_factory, sqlite_url, tmp_path
):
    seeded = seed(session_factory)
    with session_factory.begin() as s:
        s.execute(update(User).where(User.id == seeded.users["supervisor"]).values(email="a@b.cn"))
        s.add(Notification(key="n1", user_id=seeded.users["supervisor"], kind="urge", title="催办"))
    assert await run_digest(_settings(tmp_path, sqlite_url, None), session_factory) == 0
    with session_factory() as s:
        note = s.scalars(select(Notification).where(Notification.key == "n1")).one()
    assert note.emailed_at is None


async def test_digest_job_is_daily_at_eight_shanghai_once(
    dev_env, session_factory, sqlite_url, tmp_path
):
    settings = _settings(tmp_path, sqlite_url, "smtp://127.0.0.1:2525")
    scheduler = build_scheduler(
        client=dev_env.client, settings=settings, session_factory=session_factory
    )
    job = scheduler.get_job(DIGEST_JOB_ID)
    assert job is not None and job.func is run_digest
    assert (job.coalesce, job.max_instances) == (True, 1)
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("8", "0")
    assert str(job.trigger.timezone) == "Asia/Shanghai"
