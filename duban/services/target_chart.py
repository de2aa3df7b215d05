"""A target's chart as plain geometry: actuals over time against the target line, and the trend
projected to the deadline. Templates draw it as server-rendered SVG next to a table of the same
figures (no script)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from duban.rules import number_text
from duban.services.target import TargetTrack

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 16, 40
TICKS = 4


@dataclass(frozen=True)
class Dot:
    """A reported actual: where it stands and what it says."""

    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Line:
    """One department's actuals, and the dashed trend to the deadline when there is one."""

    label: str
    points: str
    dots: tuple[Dot, ...]
    projection: tuple[float, float, float, float] | None
    projection_text: str
    meets: bool | None


@dataclass(frozen=True)
class Tick:
    """A label on an axis at a position."""

    at: float
    text: str


@dataclass(frozen=True)
class Chart:
    """Everything the SVG needs, in pixels."""

    width: int
    height: int
    left: int
    right: float
    top: int
    bottom: float
    target_y: float
    target_text: str
    lines: tuple[Line, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]


def _days(track: TargetTrack, today: date) -> tuple[date, date]:
    days = [p.day for s in track.series for p in s.points] + [today]
    if track.target.deadline_date is not None:
        days.append(track.target.deadline_date)
    first, last = min(days), max(days)
    return first, last if last > first else date.fromordinal(first.toordinal() + 1)


def _values(track: TargetTrack) -> tuple[float, float]:
    values = [track.target.value, 0.0]
    values += [p.value for s in track.series for p in s.points]
    values += [s.projection.value for s in track.series if s.projection is not None]
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or 1.0
    return (low - pad if low < 0 else low), high + pad


def chart_of(track: TargetTrack, *, today: date) -> Chart:
    """Return the chart of a target's track (x: dates up to the deadline, y: its unit)."""
    first, last = _days(track, today)
    low, high = _values(track)
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    span_x, span_y = last.toordinal() - first.toordinal(), high - low

    def x(day: date) -> float:
        return round(LEFT + (day.toordinal() - first.toordinal()) / span_x * (right - LEFT), 1)

    def y(value: float) -> float:
        return round(bottom - (value - low) / span_y * (bottom - TOP), 1)

    unit = track.target.unit
    lines = []
    for s in track.series:
        dots = tuple(
            Dot(
                x(p.day),
                y(p.value),
                f"{p.label}（{p.day.isoformat()}）：{number_text(p.value)}{unit}",
            )
            for p in s.points
        )
        projection, text = None, ""
        if s.projection is not None and s.points:
            end = s.points[-1]
            projection = (x(end.day), y(end.value), x(s.projection.deadline), y(s.projection.value))
            text = f"预计 {number_text(s.projection.value)}{unit}"
        meets = s.projection.meets if s.projection is not None else None
        points = " ".join(f"{d.x},{d.y}" for d in dots)
        lines.append(Line(s.label, points, dots, projection, text, meets))
    y_ticks = tuple(
        Tick(y(low + span_y * i / TICKS), number_text(low + span_y * i / TICKS))
        for i in range(TICKS + 1)
    )
    x_ticks = [Tick(x(first), first.isoformat())]
    if track.target.deadline_date is not None and track.target.deadline_date != first:
        x_ticks.append(Tick(x(track.target.deadline_date), f"期限 {track.target.deadline_date}"))
    return Chart(
        WIDTH,
        HEIGHT,
        LEFT,
        right,
        TOP,
        bottom,
        y(track.target.value),
        f"目标 {track.words}",
        tuple(lines),
        y_ticks,
        tuple(x_ticks),
    )
