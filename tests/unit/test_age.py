"""kubectl AGE rendering (apimachinery HumanDuration) and RFC 3339 timestamp helpers."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podctl.api.meta import format_time, now_rfc3339, parse_time
from podctl.printers.age import age, human_duration

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
YEAR = 365 * DAY
NOW = datetime(2026, 1, 2, 15, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-2, "<invalid>"),
        (-1.5, "0s"),
        (-0.5, "0s"),
        (0, "0s"),
        (59, "59s"),
        (90, "90s"),
        (119.9, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (9 * MINUTE + 59, "9m59s"),
        (10 * MINUTE, "10m"),
        (10 * MINUTE + 59, "10m"),
        (45 * MINUTE, "45m"),
        (179 * MINUTE + 59, "179m"),
        (3 * HOUR, "3h"),
        (3 * HOUR + 10 * MINUTE, "3h10m"),
        (7 * HOUR + 59 * MINUTE, "7h59m"),
        (8 * HOUR, "8h"),
        (47 * HOUR + 59 * MINUTE, "47h"),
        (2 * DAY, "2d"),
        (2 * DAY + 5 * HOUR, "2d5h"),
        (7 * DAY + 23 * HOUR, "7d23h"),
        (8 * DAY, "8d"),
        (300 * DAY, "300d"),
        (2 * YEAR - 1, "729d"),
        (2 * YEAR, "2y"),
        (2 * YEAR + 30 * DAY, "2y30d"),
        (8 * YEAR - 1, "7y364d"),
        (8 * YEAR, "8y"),
        (9 * YEAR + 100 * DAY, "9y"),
    ],
)
def test_human_duration_matches_apimachinery(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(math.inf, "292y"), (1e300, "292y"), (-math.inf, "<invalid>"), (math.nan, "<invalid>")],
)
def test_human_duration_saturates_like_go_durations(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_human_duration_never_raises_for_any_float(seconds: float) -> None:
    assert human_duration(seconds)


@given(st.integers(min_value=0, max_value=119))
def test_human_duration_prints_plain_seconds_below_two_minutes(seconds: int) -> None:
    assert human_duration(seconds) == f"{seconds}s"


def test_age_is_human_duration_since_timestamp() -> None:
    assert age("2026-01-02T15:03:33Z", NOW) == "32s"


@pytest.mark.parametrize("timestamp", [None, ""])
def test_age_without_timestamp_is_unknown(timestamp: str | None) -> None:
    assert age(timestamp, NOW) == "<unknown>"


def test_age_tolerates_one_second_of_clock_skew() -> None:
    assert age("2026-01-02T15:04:06Z", NOW) == "0s"


def test_age_marks_timestamps_two_seconds_ahead_invalid() -> None:
    assert age("2026-01-02T15:04:07Z", NOW) == "<invalid>"


def test_age_treats_naive_now_as_utc() -> None:
    assert age("2026-01-02T15:03:05Z", NOW.replace(tzinfo=None)) == "60s"


def test_age_respects_timestamp_offsets() -> None:
    assert age("2026-01-02T16:03:05+01:00", NOW) == "60s"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02T15:04:05Z", NOW),
        ("2026-01-02T17:04:05+02:00", NOW),
        ("2026-01-02T10:04:05-05:00", NOW),
        ("2026-01-02T15:04:05.25Z", NOW + timedelta(microseconds=250_000)),
        ("2026-01-02T15:04:05.123456789Z", NOW + timedelta(microseconds=123_456)),
    ],
)
def test_parse_time_reads_rfc3339(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-02",
        "2026-01-02 15:04:05Z",
        "2026-01-02T15:04:05",
        "2026-13-02T15:04:05Z",
        "2026-01-02T15:04:05z",
        "not a time",
    ],
)
def test_parse_time_rejects_non_rfc3339(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_format_time_is_utc_seconds_with_z() -> None:
    moment = datetime(2026, 1, 2, 17, 4, 5, 999_999, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(moment) == "2026-01-02T15:04:05Z"


def test_format_time_treats_naive_datetimes_as_utc() -> None:
    assert format_time(datetime(2026, 1, 2, 15, 4, 5)) == "2026-01-02T15:04:05Z"


def test_format_time_round_trips_through_parse_time() -> None:
    assert parse_time(format_time(NOW)) == NOW


def test_now_rfc3339_is_a_current_utc_timestamp() -> None:
    text = now_rfc3339()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", text)
    assert abs((datetime.now(UTC) - parse_time(text)).total_seconds()) < 5
