"""An endpoint's weekly schedule: the days and the local hours it runs, in an IANA time zone.

The one implementation of "is the endpoint in its window now" and "when does it start next", shared by the
configuration (``endpoints[].schedule``), the router (its 503 and ``Retry-After``), the scheduler function, the
lifecycle custom resource and the cost report. Plain pydantic and the standard library's ``zoneinfo``: the Lambda
functions that import it ship the pinned ``tzdata`` package, so the time zone database does not depend on the
runtime image.

A window opens at ``start`` and closes at ``stop`` (local wall-clock time, ``start`` < ``stop``) on each of
``days``. A ``start`` or ``stop`` that some day in the time zone skips or repeats (a daylight saving shift, in
the zone's rules from this year to ``DST_HORIZON_YEARS`` later) is refused: EventBridge Scheduler evaluates a cron
expression in its time zone and "when the time shifts forward in Spring, your schedule invocation gets skipped if
the cron expression falls on a non-existent date and time ... in the Fall, your schedule runs only once"
(EventBridge Scheduler user guide, "Schedule types", daylight saving time). The shifts are the zone's own (02:00 in
Europe/Paris and America/New_York, 00:00 in America/Santiago), not one range for every zone.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# EventBridge cron day-of-week names (EventBridge Scheduler user guide, "Cron expressions": SUN-SAT).
_CRON_DAYS = {"mon": "MON", "tue": "TUE", "wed": "WED", "thu": "THU", "fri": "FRI", "sat": "SAT", "sun": "SUN"}
_CLOCK_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
# How far ahead a transition time is checked against the zone's daylight saving shifts (see above).
DST_HORIZON_YEARS = 10


def _clock(value: str) -> time:
    match = _CLOCK_RE.match(value)
    if match is None:
        raise ValueError(f"got '{value}'; expected a local time HH:MM on a 24-hour clock, such as 08:00 or 19:30")
    return time(int(match.group(1)), int(match.group(2)))


class EndpointSchedule(BaseModel):
    """When an endpoint runs: ``start`` to ``stop`` (local ``HH:MM``) on ``days``, in ``time_zone`` (IANA).

    Raises ``ValueError`` (pydantic's ``ValidationError`` on construction) naming the field, the value and what is
    valid: an unknown time zone, no day or a repeated one, a time not ``HH:MM``, ``start`` not before ``stop``, a
    transition at a local time a daylight saving shift of the zone skips or repeats.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_zone: str = Field(description="IANA time zone the times are in, such as Europe/Paris or America/New_York.")
    days: tuple[Day, ...] = Field(
        description="Days the endpoint runs: mon, tue, wed, thu, fri, sat, sun (each at most once)."
    )
    start: str = Field(
        description="Local time HH:MM the endpoint starts on each of the days (not in an hour a DST shift skips or "
        "repeats)."
    )
    stop: str = Field(description="Local time HH:MM it stops the same day, after start (same rule).")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"got '{value}'; expected an IANA time zone name such as Europe/Paris, America/New_York or UTC"
            ) from None
        return value

    @field_validator("days")
    @classmethod
    def _distinct_days(cls, value: tuple[Day, ...]) -> tuple[Day, ...]:
        if not value:
            raise ValueError(f"got no day; expected one or more of {', '.join(DAYS)}")
        repeated = sorted({day for day in value if value.count(day) > 1}, key=DAYS.index)
        if repeated:
            raise ValueError(f"got {', '.join(repeated)} more than once; list each day once")
        return value

    @field_validator("start", "stop")
    @classmethod
    def _valid_clock(cls, value: str) -> str:
        _clock(value)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> EndpointSchedule:
        if _clock(self.start) >= _clock(self.stop):
            raise ValueError(
                f"start ({self.start}) is not before stop ({self.stop}); expected a window within one day, start < stop"
            )
        for name, value in (("start", self.start), ("stop", self.stop)):
            shift = dst_shift_at(self.zone, _clock(value), date.today().year)
            if shift is not None:
                raise ValueError(
                    f"{name}: got '{value}'; in {self.time_zone} {value} {shift} (daylight saving time), and "
                    "EventBridge Scheduler skips a run at a time that does not exist and runs once at a time that "
                    "repeats; choose a time that occurs exactly once every day"
                )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The time zone, from the shipped database."""
        return ZoneInfo(self.time_zone)

    @property
    def start_time(self) -> time:
        return _clock(self.start)

    @property
    def stop_time(self) -> time:
        return _clock(self.stop)

    def is_open(self, at: datetime) -> bool:
        """Whether the window is open at the aware instant ``at`` (start included, stop excluded)."""
        local = _aware(at).astimezone(self.zone)
        moment = local.time().replace(tzinfo=None)
        return DAYS[local.weekday()] in self.days and self.start_time <= moment < self.stop_time

    def next_start(self, at: datetime) -> datetime:
        """The first start strictly after ``at``, as an aware local datetime (the week wraps around)."""
        return self._next(at, self.start_time)

    def next_stop(self, at: datetime) -> datetime:
        """The first stop strictly after ``at``, as an aware local datetime."""
        return self._next(at, self.stop_time)

    def seconds_until_start(self, at: datetime) -> int:
        """Whole seconds from ``at`` to the next start, rounded up (a ``Retry-After`` value, at least 1)."""
        delta = self.next_start(at).astimezone(UTC) - _aware(at).astimezone(UTC)
        return max(1, math.ceil(delta.total_seconds()))

    def weekly_hours(self) -> float:
        """Hours the window is open per week, by the wall clock (a week with a DST shift inside a window differs by
        the shift, usually an hour)."""
        start, stop = self.start_time, self.stop_time
        minutes = (stop.hour * 60 + stop.minute) - (start.hour * 60 + start.minute)
        return len(self.days) * minutes / 60

    def cron(self, transition: Literal["start", "stop"]) -> str:
        """The EventBridge Scheduler cron expression of ``transition`` (evaluated in ``time_zone``), e.g.
        ``cron(0 8 ? * MON,TUE,WED,THU,FRI *)``: minutes, hours, day of month, month, day of week, year."""
        moment = self.start_time if transition == "start" else self.stop_time
        days = ",".join(_CRON_DAYS[day] for day in sorted(self.days, key=DAYS.index))
        return f"cron({moment.minute} {moment.hour} ? * {days} *)"

    def _next(self, at: datetime, moment: time) -> datetime:
        instant = _aware(at).astimezone(UTC)
        today = instant.astimezone(self.zone).date()
        # Eight days: the same weekday a week later when today's time has passed (a single-day schedule).
        for offset in range(8):
            day: date = today + timedelta(days=offset)
            if DAYS[day.weekday()] not in self.days:
                continue
            candidate = datetime.combine(day, moment, tzinfo=self.zone)
            # Compared in UTC: datetimes sharing a tzinfo compare by wall clock, which a DST shift makes wrong.
            if candidate.astimezone(UTC) > instant:
                return candidate
        raise AssertionError("a schedule with at least one day has a next transition within eight days")


@cache
def dst_shift_at(zone: ZoneInfo, moment: time, first_year: int) -> str | None:
    """How the zone's daylight saving shifts hit the local time ``moment`` from ``first_year`` for
    ``DST_HORIZON_YEARS`` years: ``"does not exist on <date>"`` (skipped), ``"occurs twice on <date>"`` (repeated), or
    None when it occurs exactly once every day. Only the days whose UTC offset differs from the day before's are
    looked at (a shift changes the offset)."""
    day = date(first_year, 1, 1)
    last = date(first_year + DST_HORIZON_YEARS, 1, 1)
    previous = datetime.combine(day, time(12), tzinfo=zone).utcoffset()
    while day < last:
        day += timedelta(days=1)
        offset = datetime.combine(day, time(12), tzinfo=zone).utcoffset()
        if offset == previous:
            continue
        previous = offset
        # The shift happened between yesterday noon and today noon: check the moment on both days.
        for candidate in (day - timedelta(days=1), day):
            local = datetime.combine(candidate, moment, tzinfo=zone)
            if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
                return f"does not exist on {candidate.isoformat()}"
            if local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset():
                return f"occurs twice on {candidate.isoformat()}"
    return None


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("expected an aware datetime (with a time zone)")
    return at
