"""OpenID Connect relying party: the authorization-code flow with PKCE, state and nonce.

authlib makes the PKCE challenge, the random values and the authorization URL; the ID token
is checked with joserfc (signature against the provider's JWKS, `iss`, `aud`, `exp`,
`nonce`); httpx fetches discovery, keys and the token. Nothing here touches the database:
duban/services/oidc_account.py links the identity to a local user.

Claim mapping (documented in DESIGN.md, "Single sign-on"): the claim named by
DUBAN_OIDC_ROLE_CLAIM gives the role, the one named by DUBAN_OIDC_DEPARTMENT_CLAIM the
department; DUBAN_OIDC_ROLE_MAP / DUBAN_OIDC_DEPARTMENT_MAP translate provider values
("督查员=supervisor,org-17=D17"); without a map the value must be the role or code itself.
A value that maps to nothing is refused (no account is made).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from duban.domain import UserRole
from duban.errors import DomainError, Unavailable
from duban.settings import Settings

SCOPES = "openid profile email duban"
TIMEOUT = httpx.Timeout(5.0, connect=3.0)
LEEWAY_SECONDS = 120


class OidcRefused(DomainError):
    """The provider's claims name no role or department duban knows: no account is made."""

    status = 403
    code = "oidc_refused"


class OidcFailed(DomainError):
    """The answer from the provider does not check out (state, code, token)."""

    status = 400
    code = "oidc_failed"


class ProviderDown(Unavailable):
    """The identity provider does not answer."""

    code = "oidc_unavailable"


def _pairs(text: str) -> dict[str, str]:
    """Parse "a=b,c=d" (blanks around items ignored)."""
    out: dict[str, str] = {}
    for item in text.split(","):
        if "=" in item:
            key, value = item.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def _items(text: str) -> frozenset[str]:
    return frozenset(v.strip() for v in text.split(",") if v.strip())


@dataclass(frozen=True)
class OidcConfig:
    """The provider and how its claims map onto duban's roles and departments."""

    issuer: str
    client_id: str
    client_secret: str
    department_claim: str = "duban_department"
    role_claim: str = "duban_role"
    department_map: tuple[tuple[str, str], ...] = ()
    role_map: tuple[tuple[str, str], ...] = ()
    mfa_amr: frozenset[str] = frozenset({"mfa", "otp", "hwk", "swk", "sms", "sc"})
    mfa_acr: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        """Return the configuration, or None while DUBAN_OIDC_ISSUER is unset."""
        if not settings.oidc_issuer:
            return None
        return cls(
            issuer=settings.oidc_issuer.rstrip("/"),
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            department_claim=settings.oidc_department_claim,
            role_claim=settings.oidc_role_claim,
            department_map=tuple(_pairs(settings.oidc_department_map).items()),
            role_map=tuple(_pairs(settings.oidc_role_map).items()),
            mfa_amr=_items(settings.oidc_mfa_amr),
            mfa_acr=_items(settings.oidc_mfa_acr),
        )


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in, mapped onto duban."""

    issuer: str
    subject: str
    name: str
    email: str | None
    role: UserRole
    department_code: str | None
    mfa: bool  # the provider asserted a second factor (amr / acr)


def _claim_text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value.strip() if isinstance(value, str) else ""


def map_claims(config: OidcConfig, claims: dict[str, Any]) -> Identity:
    """Map verified ID-token claims onto a role and department code; refuse what is unknown.

    Whether the department code exists is checked against the database by the caller.
    """
    raw_role = _claim_text(claims, config.role_claim)
    role_map = dict(config.role_map)
    role_value = role_map.get(raw_role, raw_role if not role_map else "")
    try:
        role = UserRole(role_value)
    except ValueError:
        raise OidcRefused(
            f"统一身份认证给出的角色未配置：{raw_role or '（空）'} / unknown role claim"
        ) from None
    raw_dept = _claim_text(claims, config.department_claim)
    dept_map = dict(config.department_map)
    code = dept_map.get(raw_dept, raw_dept if not dept_map else "") or None
    if raw_dept and code is None:
        raise OidcRefused(f"统一身份认证给出的部门未配置：{raw_dept} / unknown department claim")
    amr = claims.get("amr")
    amr_values = {str(v) for v in amr} if isinstance(amr, list) else set()
    mfa = bool(amr_values & config.mfa_amr) or str(claims.get("acr", "")) in config.mfa_acr
    email = claims.get("email")
    return Identity(
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        name=_claim_text(claims, "name") or _claim_text(claims, "preferred_username"),
        email=email if isinstance(email, str) and email else None,
        role=role,
        department_code=code,
        mfa=mfa,
    )


@dataclass(frozen=True)
class Pending:
    """What the browser's signed cookie keeps between the redirect and the callback."""

    state: str
    nonce: str
    verifier: str

    def as_dict(self) -> dict[str, str]:
        """Return the values for the session cookie."""
        return {"state": self.state, "nonce": self.nonce, "verifier": self.verifier}

    @classmethod
    def from_dict(cls, data: object) -> Pending | None:
        """Read the values back; None when missing or malformed."""
        if not isinstance(data, dict):
            return None
        values = [data.get(k) for k in ("state", "nonce", "verifier")]
        if not all(isinstance(v, str) and v for v in values):
            return None
        return cls(state=str(values[0]), nonce=str(values[1]), verifier=str(values[2]))


def _get_json(client: httpx.Client, url: str) -> dict[str, Any]:
    try:
        response = client.get(url)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as e:
        raise ProviderDown("统一身份认证服务暂不可用，请稍后再试 / identity provider down") from e
    if not isinstance(body, dict):
        raise ProviderDown("统一身份认证服务应答有误 / identity provider answered badly")
    return body


def discover(config: OidcConfig, client: httpx.Client) -> dict[str, Any]:
    """Fetch the provider's metadata; its issuer must be the configured one."""
    meta = _get_json(client, f"{config.issuer}/.well-known/openid-configuration")
    if str(meta.get("issuer", "")).rstrip("/") != config.issuer:
        raise ProviderDown("统一身份认证服务的 issuer 与配置不符 / issuer mismatch")
    return meta


def start(config: OidcConfig, redirect_uri: str) -> tuple[str, Pending]:
    """Return the provider's authorization URL and what to keep until the callback."""
    with httpx.Client(timeout=TIMEOUT) as client:
        meta = discover(config, client)
    pending = Pending(
        state=generate_token(32), nonce=generate_token(32), verifier=generate_token(64)
    )
    url = prepare_grant_uri(
        str(meta["authorization_endpoint"]),
        client_id=config.client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope=SCOPES,
        state=pending.state,
        nonce=pending.nonce,
        code_challenge=create_s256_code_challenge(pending.verifier),
        code_challenge_method="S256",
    )
    return url, pending


def finish(
    config: OidcConfig, redirect_uri: str, params: dict[str, str], pending: Pending | None
) -> dict[str, Any]:
    """Check the callback against `pending`, redeem the code, verify the ID token; return its
    claims. Raise OidcFailed for anything that does not check out, ProviderDown if it is down."""
    if pending is None or not secrets.compare_digest(
        params.get("state", "").encode(), pending.state.encode()
    ):
        raise OidcFailed("登录请求已失效或不匹配，请重新登录 / state mismatch")
    if params.get("error"):
        raise OidcFailed(f"统一身份认证未完成：{params['error'][:100]} / sign-in not completed")
    if params.get("iss") and params["iss"].rstrip("/") != config.issuer:
        raise OidcFailed("应答来自其他身份认证服务 / response from another issuer")
    code = params.get("code", "")
    if not code:
        raise OidcFailed("缺少授权码 / missing code")
    with httpx.Client(timeout=TIMEOUT) as client:
        meta = discover(config, client)
        try:
            response = client.post(
                str(meta["token_endpoint"]),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": pending.verifier,
                },
                auth=(config.client_id, config.client_secret),
            )
        except httpx.HTTPError as e:
            raise ProviderDown(
                "统一身份认证服务暂不可用，请稍后再试 / identity provider down"
            ) from e
        if response.status_code >= 500:
            raise ProviderDown("统一身份认证服务暂不可用，请稍后再试 / identity provider down")
        if response.status_code != 200:
            raise OidcFailed("授权码无效或已使用，请重新登录 / code refused by the provider")
        try:
            id_token = str(response.json()["id_token"])
        except (ValueError, KeyError, TypeError) as e:
            raise OidcFailed("统一身份认证未返回身份令牌 / no ID token") from e
        keys = KeySet.import_key_set(_get_json(client, str(meta["jwks_uri"])))  # type: ignore[arg-type]
    return verify_id_token(config, id_token, keys, pending.nonce)


def verify_id_token(config: OidcConfig, id_token: str, keys: KeySet, nonce: str) -> dict[str, Any]:
    """Verify the ID token's signature and claims; return the claims."""
    try:
        token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256", "EdDSA"])
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": config.client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError) as e:
        raise OidcFailed("身份令牌校验失败 / ID token does not verify") from e
    return dict(token.claims)
