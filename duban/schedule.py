"""Pure calendar rules: ISO 8601 offsets and the reporting periods of an assignment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
CADENCE_MONTHS = {"monthly": 1, "quarterly": 3, "half-yearly": 6, "yearly": 12}
# One report at the text's own deadlines (or, without any, at the end of the tracking window).
ONE_OFF = "one-off"
DEFAULT_REMINDERS = "P7D,P1D"
DEFAULT_ESCALATIONS = "P1D,P7D,P14D"

_DURATION_RE = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


@dataclass(frozen=True)
class PlannedPeriod:
    """One reporting period: its due time (UTC), label, where it came from, and if already past."""

    index: int
    due_at: datetime
    label: str
    source: str = "cadence"
    historic: bool = False


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration of weeks, days, hours, minutes, seconds (e.g. `P7D`, `PT30S`)."""
    raw = text.strip().upper()
    match = _DURATION_RE.match(raw)
    if match is None or raw in {"P", "PT"} or raw.endswith("T"):
        raise ValueError(f"无法识别的时长 {text!r}：请使用 ISO 8601 格式，如 P1D、P2W、PT12H")
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    return timedelta(**parts)


def parse_offsets(text: str | None, default: str = DEFAULT_ESCALATIONS) -> list[timedelta]:
    """Parse a comma-separated list of ISO 8601 durations; blank means `default`."""
    source = text if text and text.strip() else default
    return [parse_duration(part) for part in source.split(",") if part.strip()]


def end_of_day(day: date) -> datetime:
    """Return 23:59:59 Beijing time of `day`, in UTC: the moment a due date runs out."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=LOCAL_TZ).astimezone(UTC)


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    total = year * 12 + (month - 1) + months
    return total // 12, total % 12 + 1


def _month_end(year: int, month: int) -> date:
    next_year, next_month = _add_months(year, month, 1)
    return date(next_year, next_month, 1) - timedelta(days=1)


def _cadence_label(end: date, months: int) -> str:
    if months == 3:
        return f"{end.year}年第{(end.month - 1) // 3 + 1}季度"
    if months == 6:
        return f"{end.year}年{'上' if end.month <= 6 else '下'}半年"
    if months == 12:
        return f"{end.year}年度"
    return f"{end.year}年{end.month}月"


def cadence_ends(start: date, until: date, cadence: str = "quarterly") -> list[tuple[date, str]]:
    """Return the calendar period ends after `start` up to the first one on or after `until`."""
    if cadence == ONE_OFF:
        return [(until, "一次性报送")]
    months = CADENCE_MONTHS.get(cadence)
    if months is None:
        raise ValueError(f"不支持的报送周期 {cadence!r}：可选 {', '.join(CADENCE_MONTHS)}")
    # Period ends fall on calendar boundaries (e.g. 3-31, 6-30 for quarters).
    year, month = start.year, ((start.month - 1) // months + 1) * months
    ends: list[tuple[date, str]] = []
    while True:
        end = _month_end(year, month)
        if end > start:
            ends.append((end, _cadence_label(end, months)))
            if end >= until:
                return ends
        year, month = _add_months(year, month, months)


def tracking_end(start: date, horizon: date | None) -> date:
    """Return the window's end: the policy's horizon or one year ahead, whichever is later."""
    try:
        year_ahead = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        year_ahead = start.replace(year=start.year + 1, day=28)
    return max(year_ahead, horizon) if horizon else year_ahead


def plan_periods(
    *,
    start: date,
    horizon: date | None = None,
    deadlines: list[tuple[str, date]] | None = None,
    cadence: str = "quarterly",
) -> list[PlannedPeriod]:
    """Plan an assignment's periods: cadence ends over the window plus the text's own deadlines.

    A deadline already past at `start` is kept as a historic period (it never escalates);
    a cadence end on the same day as a deadline gives way to the deadline.
    """
    # One-off work reports at its own deadlines; with none ahead, once at the window's end.
    ahead = any(day >= start for _, day in deadlines or [])
    ends = (
        []
        if cadence == ONE_OFF and ahead
        else cadence_ends(start, tracking_end(start, horizon), cadence)
    )
    by_day: dict[date, tuple[str, str]] = {end: (label, "cadence") for end, label in ends}
    for text, day in deadlines or []:
        by_day[day] = (text, "deadline")
    return [
        PlannedPeriod(
            index=i,
            due_at=end_of_day(day),
            label=label,
            source=source,
            historic=day < start,
        )
        for i, (day, (label, source)) in enumerate(sorted(by_day.items()))
    ]
