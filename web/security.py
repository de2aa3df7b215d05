"""Web security primitives: signed bearer tokens, per-session CSRF tokens, the sign-in throttle.

Bearer tokens are stateless: itsdangerous `URLSafeTimedSerializer` signs `{"uid", "pw"}` with
the secret key and expires after TOKEN_TTL. `pw` fingerprints the password hash, so changing a
password revokes every token; a deactivated user's token is refused when the user is loaded.
The throttle lives in memory, per process: with several web replicas each counts on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request

TOKEN_TTL_SECONDS = 12 * 3600
SESSION_TTL_SECONDS = 12 * 3600
_TOKEN_SALT = "duban.api-token.v1"
CSRF_SESSION_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrftoken"


def password_fingerprint(password_hash: str) -> str:
    """Return a short digest of a password hash; it changes when the password does."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TokenClaims:
    """What a valid bearer token says: who, and which password they had."""

    user_id: int
    fingerprint: str


class TokenSigner:
    """Issue and check signed, expiring API bearer tokens."""

    def __init__(self, secret_key: str, ttl_seconds: int = TOKEN_TTL_SECONDS) -> None:
        """Sign with `secret_key`; tokens expire after `ttl_seconds`."""
        self._serializer = URLSafeTimedSerializer(secret_key, salt=_TOKEN_SALT)
        self.ttl_seconds = ttl_seconds

    def issue(self, *, user_id: int, password_hash: str) -> str:
        """Return a token for the user."""
        payload = {"uid": user_id, "pw": password_fingerprint(password_hash)}
        return str(self._serializer.dumps(payload))

    def read(self, token: str) -> TokenClaims | None:
        """Return the claims of a valid, unexpired token, else None."""
        try:
            data = self._serializer.loads(token, max_age=self.ttl_seconds)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
            return None
        return TokenClaims(user_id=data["uid"], fingerprint=str(data.get("pw", "")))


def bearer_token(request: Request) -> str | None:
    """Return the bearer token of the Authorization header, if any."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def csrf_token(request: Request) -> str:
    """Return this session's CSRF token, creating it on first use."""
    token = request.session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_SESSION_KEY] = token
    return token


def csrf_matches(request: Request, submitted: str | None) -> bool:
    """Compare a submitted CSRF token with the session's in constant time."""
    expected = request.session.get(CSRF_SESSION_KEY)
    if not isinstance(expected, str) or not expected or not submitted:
        return False
    return hmac.compare_digest(expected, submitted)


@dataclass
class LoginThrottle:
    """Refuse sign-in after `max_failures` failures per username+IP within `window_seconds`."""

    max_failures: int = 5
    window_seconds: float = 15 * 60
    _failures: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        stamps = self._failures.setdefault(key, deque())
        while stamps and now - stamps[0] > self.window_seconds:
            stamps.popleft()
        return stamps

    def retry_after(self, username: str, ip: str) -> int:
        """Return seconds until the next attempt is allowed; 0 when allowed now."""
        key, now = (username.strip().lower(), ip), time.monotonic()
        with self._lock:
            stamps = self._recent(key, now)
            if len(stamps) < self.max_failures:
                return 0
            return max(1, int(self.window_seconds - (now - stamps[0])) + 1)

    def failed(self, username: str, ip: str) -> None:
        """Record a failed attempt."""
        key, now = (username.strip().lower(), ip), time.monotonic()
        with self._lock:
            self._recent(key, now).append(now)

    def succeeded(self, username: str, ip: str) -> None:
        """Forget the failures of a username+IP after a good sign-in."""
        with self._lock:
            self._failures.pop((username.strip().lower(), ip), None)


def client_ip(request: Request) -> str:
    """Return the peer address (proxies must be configured in uvicorn, not trusted here)."""
    return request.client.host if request.client else "unknown"
