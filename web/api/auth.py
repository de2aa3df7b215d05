"""`/api/v1/auth`: exchange credentials for a bearer token, read and adjust one's own account."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from duban.services import two_factor
from duban.services.notification import set_preferences
from duban.services.user import UserChanges, change_own_password, set_locale, update_user
from web.deps import CurrentUser, SessionDep
from web.i18n import t
from web.openapi import error_responses
from web.schemas import MeUpdate, PasswordChange, TokenRead, TokenRequest, UserRead
from web.security import TokenSigner
from web.signin import SecondFactorRequired, check_password, check_second_factor

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token", response_model=TokenRead, responses=error_responses(429))
def issue_token(body: TokenRequest, request: Request) -> TokenRead:
    """Return a bearer token for good credentials (401 otherwise, 429 after repeated failures).

    An account with a second factor also sends `otp` (a TOTP or a recovery code); without it
    the answer is 401 with code `otp_required`, with a wrong one 401 `bad_otp`.
    """
    user = check_password(request, body.username, body.password, via="api")
    second = two_factor.enrolled(user)
    if second:
        if not body.otp:
            raise SecondFactorRequired(t("auth.second_factor_required"))
        user = check_second_factor(request, user.id, body.otp, via="api")
    signer: TokenSigner = request.app.state.token_signer
    token = signer.issue(user_id=user.id, password_hash=user.password_hash, second_factor=second)
    return TokenRead(access_token=token, expires_in=signer.ttl_seconds)


@router.post("/password", status_code=204)
def change_password(body: PasswordChange, user: CurrentUser, session: SessionDep) -> Response:
    """Change one's own password: every session and bearer token ends, the calendar link too."""
    change_own_password(
        session=session, user=user, current=body.current_password, new=body.new_password
    )
    return Response(status_code=204)


@router.get("/me", response_model=UserRead)
def read_me(user: CurrentUser) -> UserRead:
    """Return the signed-in user."""
    return UserRead.of(user)


@router.patch("/me", response_model=UserRead)
def update_me(body: MeUpdate, user: CurrentUser, session: SessionDep) -> UserRead:
    """Change one's own interface script, display name, e-mail address or daily-digest switch."""
    if body.locale is not None:
        set_locale(session=session, user=user, locale=body.locale)
    if body.display_name is not None:
        update_user(
            session=session,
            user_id=user.id,
            changes=UserChanges(display_name=body.display_name),
            acting_user_id=user.id,
        )
    if body.email is not None or body.digest_email is not None:
        set_preferences(
            session=session, user=user, email=body.email, digest_email=body.digest_email
        )
    return UserRead.of(user)
