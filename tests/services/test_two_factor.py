"""Second-factor codes on SQLite and PostgreSQL: odd characters are wrong codes, never errors;
secrets are stored sealed (no base32 secret in the raw column)."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import text

from duban.db import utcnow
from duban.services import two_factor
from duban.services.user import create_user

KEY = "test-secret"
BASE32 = re.compile(r"[A-Z2-7]{32}")  # a run like the 32-character base32 secret
# Codes schemathesis sent (a 500 before: compare_digest refuses non-ASCII str), and others.
ODD_CODES = [
    "\ud8cf\udde4æl_l\x80Æ<»KòAk",
    "١٢٣٤٥٦",
    "１２３４５６",
    "12345６",
    "",
    "\x00" * 6,
    "代码",
]


@pytest.mark.parametrize("code", ODD_CODES)
def test_odd_codes_neither_confirm_nor_verify(session, code):
    user = create_user(session=session, username="sup", password="long-enough", role="supervisor")
    secret = two_factor.begin_enrolment(session=session, user=user, key=KEY)
    assert (
        two_factor.confirm_enrolment(session=session, user=user, code=code, now=utcnow(), key=KEY)
        is None
    )
    good = pyotp.TOTP(secret).now()
    assert two_factor.confirm_enrolment(
        session=session, user=user, code=good, now=utcnow(), key=KEY
    )
    assert two_factor.verify(session=session, user=user, code=code, now=utcnow(), key=KEY) is None


def test_a_typed_code_with_blanks_and_dashes_still_counts(session):
    user = create_user(session=session, username="sup", password="long-enough", role="supervisor")
    secret = two_factor.begin_enrolment(session=session, user=user, key=KEY)
    code = pyotp.TOTP(secret).now()
    typed = f" {code[:3]}-{code[3:]} "
    assert two_factor.confirm_enrolment(
        session=session, user=user, code=typed, now=utcnow(), key=KEY
    )


def test_the_stored_secret_is_sealed_and_opens_only_with_its_key_and_row(session):
    user = create_user(session=session, username="sup", password="long-enough", role="supervisor")
    other = create_user(session=session, username="sup2", password="long-enough", role="leader")
    secret = two_factor.begin_enrolment(session=session, user=user, key=KEY)
    assert two_factor.confirm_enrolment(
        session=session, user=user, code=pyotp.TOTP(secret).now(), now=utcnow(), key=KEY
    )
    raw = session.execute(
        text("SELECT totp_secret FROM user_account WHERE id = :id"), {"id": user.id}
    ).scalar_one()
    assert raw.startswith("v1.") and secret not in raw and secret.lower() not in raw.lower()
    assert not BASE32.search(raw.removeprefix("v1."))
    assert two_factor.secret_of(user, KEY) == secret
    assert two_factor.secret_of(user, "another-secret-key") is None  # key changed: unusable
    other.totp_secret, other.totp_enabled_at = raw, utcnow()  # copied onto another row
    assert two_factor.secret_of(other, KEY) is None
    code = pyotp.TOTP(secret).now()
    assert two_factor.verify(session=session, user=other, code=code, now=utcnow(), key=KEY) is None
