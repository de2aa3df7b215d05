"""Secrets kept at rest encrypted (TOTP secrets): AES-256-GCM under a key derived by HKDF.

The key is derived from DUBAN_SECRET_KEY with HKDF-SHA256 (`info` names the purpose, so the
same secret key signs sessions and encrypts factors with unrelated keys). A sealed value is
`v1.` + base64url(12-byte random nonce || ciphertext || 16-byte tag); the row it belongs to
(e.g. `user_account:42`) is the associated data, so a sealed secret copied onto another
row does not open. A value sealed under another DUBAN_SECRET_KEY does not open either:
`open_sealed` raises `SealedValueError` and callers treat the factor as unusable.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "v1."
TOTP_PURPOSE = b"duban totp secret v1"


class SealedValueError(Exception):
    """A sealed value that does not open: another key, another row, or damaged."""


@functools.lru_cache(maxsize=16)
def _aead(secret_key: str, purpose: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose)
    return AESGCM(hkdf.derive(secret_key.encode()))


def is_sealed(value: str) -> bool:
    """Return whether a stored value is in the sealed format (not a plain legacy value)."""
    return value.startswith(PREFIX)


def seal(secret_key: str, plain: str, *, context: str, purpose: bytes = TOTP_PURPOSE) -> str:
    """Encrypt `plain` for the row named by `context`; return the text to store."""
    nonce = os.urandom(12)
    sealed = _aead(secret_key, purpose).encrypt(nonce, plain.encode(), context.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def open_sealed(
    secret_key: str, stored: str, *, context: str, purpose: bytes = TOTP_PURPOSE
) -> str:
    """Decrypt a value made by `seal` for the same row and key; raise SealedValueError else."""
    if not is_sealed(stored):
        raise SealedValueError("not a sealed value")
    body = stored[len(PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as e:
        raise SealedValueError("damaged sealed value") from e
    if len(raw) < 12 + 16:
        raise SealedValueError("damaged sealed value")
    try:
        plain = _aead(secret_key, purpose).decrypt(raw[:12], raw[12:], context.encode())
    except InvalidTag as e:
        raise SealedValueError("sealed under another key or for another row") from e
    return plain.decode()


def user_context(user_id: int) -> str:
    """The associated data binding a user's sealed secret to their row."""
    return f"user_account:{user_id}"
