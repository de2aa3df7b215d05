"""Second-factor codes on SQLite and PostgreSQL: odd characters are wrong codes, never errors."""

from __future__ import annotations

import pyotp
import pytest

from duban.db import utcnow
from duban.services import two_factor
from duban.services.user import create_user

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
    secret = two_factor.begin_enrolment(session=session, user=user)
    assert two_factor.confirm_enrolment(session=session, user=user, code=code, now=utcnow()) is None
    good = pyotp.TOTP(secret).now()
    assert two_factor.confirm_enrolment(session=session, user=user, code=good, now=utcnow())
    assert two_factor.verify(session=session, user=user, code=code, now=utcnow()) is None


def test_a_typed_code_with_blanks_and_dashes_still_counts(session):
    user = create_user(session=session, username="sup", password="long-enough", role="supervisor")
    secret = two_factor.begin_enrolment(session=session, user=user)
    code = pyotp.TOTP(secret).now()
    typed = f" {code[:3]}-{code[3:]} "
    assert two_factor.confirm_enrolment(session=session, user=user, code=typed, now=utcnow())
