"""Web security primitives: signed bearer tokens, per-session CSRF tokens, the client address.

Bearer tokens are stateless: itsdangerous `URLSafeTimedSerializer` signs `{"uid", "pw"}` with
the secret key and expires after TOKEN_TTL; `mf` says a second factor was shown. `pw` fingerprints the password hash, so changing a
password revokes every token; a deactivated user's token is refused when the user is loaded.
Browser sessions are server-side (duban/services/login_session.py): the signed cookie holds
only a random session id, the CSRF token and the language switch.
The sign-in throttle counts in the database (duban/services/sign_in.py), so replicas agree.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request

TOKEN_TTL_SECONDS = 12 * 3600
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
    second_factor: bool = False


class TokenSigner:
    """Issue and check signed, expiring API bearer tokens."""

    def __init__(self, secret_key: str, ttl_seconds: int = TOKEN_TTL_SECONDS) -> None:
        """Sign with `secret_key`; tokens expire after `ttl_seconds`."""
        self._serializer = URLSafeTimedSerializer(secret_key, salt=_TOKEN_SALT)
        self.ttl_seconds = ttl_seconds

    def issue(self, *, user_id: int, password_hash: str, second_factor: bool = False) -> str:
        """Return a token for the user; `second_factor` when the sign-in proved one."""
        payload = {"uid": user_id, "pw": password_fingerprint(password_hash), "mf": second_factor}
        return str(self._serializer.dumps(payload))

    def read(self, token: str) -> TokenClaims | None:
        """Return the claims of a valid, unexpired token, else None."""
        try:
            data = self._serializer.loads(token, max_age=self.ttl_seconds)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
            return None
        return TokenClaims(
            user_id=data["uid"],
            fingerprint=str(data.get("pw", "")),
            second_factor=data.get("mf") is True,
        )


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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """Parse DUBAN_TRUSTED_PROXIES: addresses or CIDR blocks, comma- or space-separated."""
    parts = spec.replace(",", " ").split()
    return tuple(ipaddress.ip_network(part, strict=False) for part in parts)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: Request, trusted: tuple[Network, ...] = ()) -> str:
    """Return the client's address: the peer, or what trusted proxies say in X-Forwarded-For.

    X-Forwarded-For is read only when the direct peer is a trusted proxy, and then from the
    right: the first hop that is not itself a trusted proxy is the client. Anyone else can
    write the header, so it is ignored for them.
    """
    peer = request.client.host if request.client else "unknown"
    if not _trusted(peer, trusted):
        return peer
    header = ",".join(request.headers.getlist("x-forwarded-for"))
    hops = [hop.strip() for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop[:64]
    return hops[0][:64] if hops else peer
