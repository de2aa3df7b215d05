"""Properties of duban/rules.py (hypothesis): the traffic light, the actions a state allows,
the limits of a rating, an extension and an urge. Invariants over any time and state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from duban.domain import AssignmentState
from duban.rules import (
    AMBER_WINDOW,
    CLOSED_STATES,
    DONE_STATES,
    LIGHT_RANK,
    RATING_MAX,
    RATING_MIN,
    REPORTABLE_STATES,
    URGE_COOLDOWN,
    WAITING_STATES,
    Light,
    acknowledge_refusal,
    action_flags,
    extension_date_refusal,
    extension_refusal,
    rating_refusal,
    status_light,
    submit_refusal,
    upload_refusal,
    urge_refusal,
    urgency_key,
)

S = AssignmentState
STATES = st.sampled_from(list(AssignmentState))
# hypothesis takes naive bounds and adds the zone itself
MOMENTS = st.datetimes(
    min_value=datetime(2001, 1, 1),  # noqa: DTZ001
    max_value=datetime(2089, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
SPANS = st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=400))


@given(now=MOMENTS, until_due=SPANS, state=STATES)
def test_the_light_follows_the_due_date(now, until_due, state):
    due_at = now + until_due
    light = status_light(due_at=due_at, now=now, state=state)
    assert light.reason  # always says why
    if state in DONE_STATES or state == S.SUBMITTED:
        assert light.color == Light.GREEN  # nothing is owed
    elif until_due <= timedelta(0):
        assert light.color == Light.RED
    elif until_due <= AMBER_WINDOW:
        assert light.color == Light.AMBER
    else:
        assert light.color == Light.GREEN
    assert status_light(due_at=None, now=now, state=state).color == Light.GREEN


@given(
    now=MOMENTS, due=MOMENTS, later=st.timedeltas(timedelta(0), timedelta(days=60)), state=STATES
)
def test_the_light_never_turns_back_to_green_as_time_passes(now, due, later, state):
    before = status_light(due_at=due, now=now, state=state)
    after = status_light(due_at=due, now=now + later, state=state)
    assert LIGHT_RANK[after.color] <= LIGHT_RANK[before.color]


@given(
    items=st.lists(st.tuples(st.none() | MOMENTS, STATES), min_size=1, max_size=12),
    now=MOMENTS,
)
def test_the_urgency_order_puts_unfinished_red_first_and_finished_last(items, now):
    keyed = [(urgency_key(status_light(due_at=d, now=now, state=s), d, s), d, s) for d, s in items]
    ordered = [(d, s) for _, d, s in sorted(keyed, key=lambda k: k[0])]
    finished = [s in DONE_STATES for _, s in ordered]
    assert finished == sorted(finished)  # every finished one after every unfinished one
    open_ranks = [
        LIGHT_RANK[status_light(due_at=d, now=now, state=s).color]
        for d, s in ordered
        if s not in DONE_STATES
    ]
    assert open_ranks == sorted(open_ranks)


@given(state=STATES)
def test_the_flags_a_page_shows_are_the_refusals_the_workflow_applies(state):
    flags = action_flags(state)
    assert flags.can_acknowledge == (acknowledge_refusal(state) is None) == (state == S.ASSIGNED)
    assert flags.can_submit == (submit_refusal(state) is None) == (state in REPORTABLE_STATES)
    assert flags.can_request_extension == (extension_refusal(state) is None)
    assert flags.can_request_extension == (state in WAITING_STATES)
    assert flags.can_upload == (upload_refusal(state) is None) == (state not in CLOSED_STATES)
    assert not (flags.can_request_extension and not flags.can_upload)  # waiting ⊂ open
    assert not (flags.can_submit and not flags.can_request_extension)  # reportable ⊂ waiting
    assert flags.awaiting_review == (state == S.SUBMITTED)
    if state in DONE_STATES:
        assert not (flags.can_acknowledge or flags.can_submit or flags.can_request_extension)
    for refusal in (acknowledge_refusal(state), submit_refusal(state), extension_refusal(state)):
        assert refusal is None or (refusal.code == "conflict" and refusal.message)


@given(st.none() | st.integers())
def test_a_rating_is_accepted_exactly_from_one_to_five(rating):
    refusal = rating_refusal(rating)
    accepted = rating is not None and RATING_MIN <= rating <= RATING_MAX
    assert (refusal is None) == accepted
    assert refusal is None or refusal.code == "invalid"


@given(
    now=MOMENTS,
    ahead=SPANS,
    due=st.none() | MOMENTS,
    naive=st.booleans(),
)
def test_an_extension_is_accepted_only_for_a_later_zone_aware_date(now, ahead, due, naive):
    requested = now + ahead
    if naive:
        requested = requested.replace(tzinfo=None)
    refusal = extension_date_refusal(requested, now=now, due_at=due)
    if naive:
        assert refusal is not None and refusal.code == "invalid"
        return
    later_than_all = requested > now and (due is None or requested > due)
    assert (refusal is None) == later_than_all
    assert refusal is None or refusal.code == "invalid"


@given(now=MOMENTS, since=st.none() | st.timedeltas(timedelta(0), timedelta(hours=5)))
def test_an_urge_waits_for_the_cooldown(now, since):
    last = None if since is None else now - since
    refusal = urge_refusal(last, now=now)
    assert (refusal is None) == (since is None or since >= URGE_COOLDOWN)
    if refusal is not None:
        assert refusal.code == "urge_cooldown"
        minutes = int(refusal.message.split("，")[1].split(" ")[0])
        assert 1 <= minutes <= 60
