"""Report schedules (0.12.0): next_report_run() against croniter, an
implementation nobody here wrote, read in Python's zoneinfo.

A throwaway cluster of its own (54410 `schedule`, no preload needed). Walks
each schedule through consecutive runs in several zones across 2026 and 2028
(both DST changes, a leap day, year ends) and compares every answer. Where we
chose otherwise than croniter, the test says so and checks our choice instead
of croniter's:
  - a wall-clock time repeated by a fall-back change: croniter runs it twice,
    we once (at its first occurrence);
  - day-of-month starting with '*' (e.g. '*/2') with a day-of-week: croniter
    reads "or", Vixie cron, pg_cron and we read "and".
"""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

import test_delivery

SCHEDULES = [
    "* * * * *",
    "*/7 * * * *",
    "30 1 * * *",
    "30 2 * * *",
    "0 * * * *",
    "15,45 0-3 * * *",
    "0 8 * * MON-FRI",
    "0 9 1,15 * *",
    "0 0 13 * 5",
    "0 6 * JAN,jul sun",
    "0 0 29 2 *",
    "59 23 31 12 *",
    "0 12 28-31 * *",
    "5 4 * * 7",
    "0 0 1 */3 *",
]
ZONES = ["UTC", "Europe/Lisbon", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
STARTS = ["2026-03-07T00:00:00+00:00", "2026-03-28T20:00:00+00:00", "2026-10-24T20:00:00+00:00",
          "2026-10-31T20:00:00+00:00", "2027-12-31T12:00:00+00:00", "2028-02-27T00:00:00+00:00"]
STEPS = 12


@pytest.fixture(scope="module")
def db():
    cluster = test_delivery._cluster_fixture("schedule", 54410, "schedule_test", [])
    yield cluster.db
    cluster.stop()


def _repeated(instant, zone):
    """Whether instant is the second occurrence of a wall-clock time repeated by a fall-back change."""
    local = instant.astimezone(zone)
    wall = local.replace(tzinfo=None)
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    return first.utcoffset() != second.utcoffset() and local.utcoffset() == second.utcoffset()


def _croniter_next(schedule, zone, after):
    """croniter's next run, skipping the repeats we choose not to run."""
    it = croniter(schedule, after.astimezone(zone))
    while True:
        answer = it.get_next(datetime).astimezone(timezone.utc)
        if not _repeated(answer, zone):
            return answer


def _ours(db, schedule, zone, after):
    return db.value("SELECT next_report_run(%s, %s, %s)", (schedule, zone, after)).astimezone(timezone.utc)


def test_next_report_run_matches_croniter(db):
    compared, wrong = 0, []
    for zone_name in ZONES:
        zone = ZoneInfo(zone_name)
        for schedule in SCHEDULES:
            for start in STARTS:
                after = datetime.fromisoformat(start)
                for _ in range(STEPS):
                    want = _croniter_next(schedule, zone, after)
                    got = _ours(db, schedule, zone_name, after)
                    compared += 1
                    if got != want:
                        wrong.append(f"{schedule!r} in {zone_name} after {after}: {got}, croniter {want}")
                    after = got
    assert not wrong, f"{len(wrong)} of {compared} differ:\n" + "\n".join(wrong[:20])
    assert compared == len(ZONES) * len(SCHEDULES) * len(STARTS) * STEPS


def test_fall_back_runs_once_where_croniter_runs_twice(db):
    zone = ZoneInfo("America/New_York")
    after = datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc)  # 01:30 EDT, the first 01:30
    theirs = croniter("30 1 * * *", after.astimezone(zone)).get_next(datetime).astimezone(timezone.utc)
    assert theirs == datetime(2026, 11, 1, 6, 30, tzinfo=timezone.utc)  # 01:30 EST, the repeat
    assert _ours(db, "30 1 * * *", "America/New_York", after) == datetime(2026, 11, 2, 6, 30, tzinfo=timezone.utc)


def test_spring_forward_runs_at_the_first_minute_after_the_gap(db):
    zone = ZoneInfo("America/New_York")
    after = datetime(2026, 3, 7, 12, 0, tzinfo=timezone.utc)
    theirs = croniter("30 2 * * *", after.astimezone(zone)).get_next(datetime).astimezone(timezone.utc)
    ours = _ours(db, "30 2 * * *", "America/New_York", after)
    assert ours == theirs == datetime(2026, 3, 8, 7, 0, tzinfo=timezone.utc)  # 03:00 EDT


def test_star_step_day_of_month_is_and_as_in_vixie_cron(db):
    after = datetime(2026, 3, 1, tzinfo=timezone.utc)
    theirs = croniter("0 0 */2 * 5", after).get_next(datetime)
    assert theirs == datetime(2026, 3, 3, tzinfo=timezone.utc)  # an odd day, a Tuesday: "or"
    ours = _ours(db, "0 0 */2 * 5", "UTC", after)
    assert ours == datetime(2026, 3, 13, tzinfo=timezone.utc)  # an odd day that is a Friday: "and"
    assert ours.weekday() == 4 and ours.day % 2 == 1
    assert ours - after < timedelta(days=14)
