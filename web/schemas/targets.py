"""HTTP schemas of targets (指标): a target with its actuals and projection, and a reported actual."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from duban.services.target import TargetTrack
from web.schemas import BodyRowId


class ActualPointRead(BaseModel):
    """The actual reported for a period (the last report of the period counts)."""

    period_index: int
    label: str
    reported_on: date
    value: float


class ProjectionRead(BaseModel):
    """The linear trend of the actuals read at the target's deadline."""

    deadline: date
    value: float
    meets: bool


class TargetRead(BaseModel):
    """A target of the assignment's task with its actuals over the periods."""

    id: int
    text: str
    words: str
    value: float
    unit: str
    direction: str
    scope: str | None
    deadline: date | None
    actuals: list[ActualPointRead]
    projection: ProjectionRead | None

    @classmethod
    def of(cls, track: TargetTrack) -> TargetRead:
        """Build from the service's track (its first series: the assignment's own)."""
        t = track.target
        series = track.series[0] if track.series else None
        p = series.projection if series else None
        return cls(
            id=t.id,
            text=t.text,
            words=track.words,
            value=t.value,
            unit=t.unit,
            direction=t.direction,
            scope=t.scope,
            deadline=t.deadline_date,
            actuals=[
                ActualPointRead(
                    period_index=x.period_index, label=x.label, reported_on=x.day, value=x.value
                )
                for x in (series.points if series else ())
            ],
            projection=ProjectionRead(deadline=p.deadline, value=p.value, meets=p.meets)
            if p
            else None,
        )


class ActualIn(BaseModel):
    """The actual value of one target: a number, or text such as "85" or "85%" in its unit."""

    model_config = ConfigDict(extra="forbid")

    target_id: BodyRowId
    value: StrictInt | StrictFloat | Annotated[str, Field(min_length=1, max_length=40)]

    def text(self) -> str:
        """Return the value as the service reads it."""
        return self.value if isinstance(self.value, str) else repr(self.value)
