"""Password expiry as configured (DUBAN_PASSWORD_MAX_AGE_DAYS; 0, the default, is off)."""

from __future__ import annotations

from datetime import datetime, timedelta

from duban.models import User


def password_expired(user: User, *, max_age_days: int, now: datetime) -> bool:
    """Return whether the password is older than the limit (set at creation if never changed)."""
    if max_age_days <= 0 or user.password_hash.startswith("!"):  # no local password (OIDC)
        return False
    changed = user.password_changed_at or user.created_at
    return changed + timedelta(days=max_age_days) <= now
