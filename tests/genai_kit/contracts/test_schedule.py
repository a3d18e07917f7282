"""An endpoint's weekly window: validation, "is it open", the next start across a week's end and DST shifts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from genai_kit.contracts.schedule import EndpointSchedule, dst_shift_at

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def _schedule(**changes: Any) -> EndpointSchedule:
    return EndpointSchedule.model_validate(
        {"time_zone": "Europe/Paris", "days": WEEKDAYS, "start": "08:00", "stop": "19:00", **changes}
    )


@pytest.mark.parametrize(
    ("local", "open_"),
    [
        (datetime(2026, 3, 2, 7, 59, tzinfo=PARIS), False),  # Monday, before the start
        (datetime(2026, 3, 2, 8, 0, tzinfo=PARIS), True),  # the start is in the window
        (datetime(2026, 3, 2, 18, 59, tzinfo=PARIS), True),
        (datetime(2026, 3, 2, 19, 0, tzinfo=PARIS), False),  # the stop is not
        (datetime(2026, 3, 7, 12, 0, tzinfo=PARIS), False),  # Saturday
    ],
)
def test_the_window_is_open_from_start_to_just_before_stop_on_its_days(local: datetime, open_: bool) -> None:
    assert _schedule().is_open(local) is open_
    assert _schedule().is_open(local.astimezone(UTC)) is open_  # the same instant in another zone


def test_friday_evening_waits_for_monday_morning() -> None:
    # GIVEN Friday 19:30 in Paris (winter, UTC+1)
    friday = datetime(2026, 1, 9, 19, 30, tzinfo=PARIS)
    # THEN the next start is Monday 08:00, 60.5 hours later
    assert _schedule().next_start(friday) == datetime(2026, 1, 12, 8, 0, tzinfo=PARIS)
    assert _schedule().next_start(friday).isoformat() == "2026-01-12T08:00:00+01:00"
    assert _schedule().seconds_until_start(friday) == 60 * 3600 + 30 * 60


def test_a_single_day_schedule_wraps_to_the_same_day_next_week() -> None:
    monday_after_stop = datetime(2026, 1, 12, 20, 0, tzinfo=PARIS)
    assert _schedule(days=["mon"]).next_start(monday_after_stop) == datetime(2026, 1, 19, 8, 0, tzinfo=PARIS)


def test_the_start_itself_is_not_its_own_next_start() -> None:
    start = datetime(2026, 1, 12, 8, 0, tzinfo=PARIS)
    assert _schedule().next_start(start) == datetime(2026, 1, 13, 8, 0, tzinfo=PARIS)


def test_the_wait_over_the_spring_shift_is_an_hour_shorter() -> None:
    # Europe/Paris moves from UTC+1 to UTC+2 on Sunday 2026-03-29 at 02:00.
    saturday = datetime(2026, 3, 28, 12, 0, tzinfo=PARIS)
    start = _schedule().next_start(saturday)
    assert start.isoformat() == "2026-03-30T08:00:00+02:00"
    assert _schedule().seconds_until_start(saturday) == (44 - 1) * 3600


def test_the_wait_over_the_autumn_shift_is_an_hour_longer() -> None:
    # ... and back to UTC+1 on Sunday 2026-10-25 at 03:00.
    saturday = datetime(2026, 10, 24, 12, 0, tzinfo=PARIS)
    assert _schedule().next_start(saturday).isoformat() == "2026-10-26T08:00:00+01:00"
    assert _schedule().seconds_until_start(saturday) == (44 + 1) * 3600


def test_an_open_window_on_a_shift_day_is_judged_by_the_local_clock() -> None:
    sunday = _schedule(days=["sun"], start="09:00", stop="17:00")
    # 07:30 UTC on the spring shift day is 09:30 in Paris (UTC+2 since 02:00 local)
    assert sunday.is_open(datetime(2026, 3, 29, 7, 30, tzinfo=UTC)) is True
    # the day before, 07:30 UTC is 08:30 in Paris (UTC+1): not open yet
    saturday = _schedule(days=["sat"], start="09:00", stop="17:00")
    assert saturday.is_open(datetime(2026, 3, 28, 7, 30, tzinfo=UTC)) is False


def test_retry_after_rounds_up_to_a_whole_second() -> None:
    just_before = datetime(2026, 1, 12, 7, 59, 59, 500_000, tzinfo=PARIS)
    assert _schedule().seconds_until_start(just_before) == 1


def test_weekly_hours_and_cron_expressions() -> None:
    schedule = _schedule(start="08:30", stop="19:00", days=["fri", "mon"])
    assert schedule.weekly_hours() == 2 * 10.5
    assert schedule.cron("start") == "cron(30 8 ? * MON,FRI *)"
    assert schedule.cron("stop") == "cron(0 19 ? * MON,FRI *)"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "got 'Mars/Olympus'; expected an IANA time zone name"),
        ({"time_zone": "UTC+1"}, "got 'UTC+1'; expected an IANA time zone name"),
        ({"days": []}, "got no day; expected one or more of mon, tue, wed, thu, fri, sat, sun"),
        ({"days": ["mon", "mon"]}, "got mon more than once"),
        ({"days": ["monday"]}, "Input should be 'mon', 'tue'"),
        ({"start": "8:00"}, "got '8:00'; expected a local time HH:MM"),
        ({"stop": "24:00"}, "got '24:00'; expected a local time HH:MM"),
        ({"start": "02:30"}, "start: got '02:30'; in Europe/Paris 02:30 does not exist on "),
        (
            {"time_zone": "America/New_York", "start": "01:30", "stop": "05:00"},
            "start: got '01:30'; in America/New_York 01:30 occurs twice on ",
        ),
        (
            {"time_zone": "America/Santiago", "start": "00:30", "stop": "22:00"},
            "start: got '00:30'; in America/Santiago 00:30 does not exist on ",
        ),
        (
            {"time_zone": "America/Santiago", "start": "08:00", "stop": "23:30"},
            "stop: got '23:30'; in America/Santiago 23:30 occurs twice on ",
        ),
        ({"start": "19:00", "stop": "08:00"}, "start (19:00) is not before stop (08:00)"),
        ({"start": "08:00", "stop": "08:00"}, "start (08:00) is not before stop (08:00)"),
    ],
)
def test_an_invalid_schedule_is_refused_saying_what_is_valid(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        _schedule(**changes)


def test_times_the_zone_never_skips_or_repeats_are_allowed() -> None:
    # Europe/Paris shifts between 02:00 and 03:00: 01:30 and 03:00 occur once every day; UTC never shifts.
    assert _schedule(start="01:30", stop="03:00").weekly_hours() == pytest.approx(5 * 1.5)
    assert _schedule(time_zone="UTC", start="02:30", stop="03:00").weekly_hours() == pytest.approx(5 * 0.5)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        _schedule().is_open(datetime(2026, 1, 12, 9, 0))


def test_a_dst_shift_names_the_first_day_it_hits_from_the_given_year() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert dst_shift_at(paris, time(2, 30), 2026) == "does not exist on 2026-03-29"
    assert dst_shift_at(paris, time(2, 30), 2027) == "does not exist on 2027-03-28"
    assert dst_shift_at(ZoneInfo("America/New_York"), time(1, 30), 2026) == "occurs twice on 2026-11-01"
    assert dst_shift_at(paris, time(8, 0), 2026) is None
