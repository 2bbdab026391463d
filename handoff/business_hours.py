"""When people answer: opening hours in the shop's time zone, weekdays and holidays."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import FrozenSet, Optional, Tuple
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BusinessHoursError(ValueError):
    """A business-hours setting that cannot be read."""


def _parse_hours(text: str) -> Tuple[time, time]:
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise BusinessHoursError(
            f"handoff.hours must look like '09:00-21:00', got {text!r} (settings.yml)"
        ) from None
    if end <= start:
        raise BusinessHoursError(f"handoff.hours must end after it starts, got {text!r} (settings.yml)")
    return start, end


def _parse_days(text: str) -> FrozenSet[int]:
    days = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise BusinessHoursError(f"handoff.days must look like 'mon-fri,sun', got {text!r} (settings.yml)")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(days)


@dataclass(frozen=True)
class BusinessHours:
    """Open on `days` between `opens` and `closes` local time, except on `holidays`."""

    zone: ZoneInfo
    opens: time
    closes: time
    days: FrozenSet[int]
    holidays: FrozenSet[date] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, handoff: dict) -> BusinessHours:
        """From the `handoff` section: timezone, hours, days, holidays."""
        opens, closes = _parse_hours(str(handoff.get("hours", "09:00-21:00")))
        holidays = set()
        for value in handoff.get("holidays") or []:
            try:
                holidays.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
            except ValueError:
                raise BusinessHoursError(f"handoff.holidays: {value!r} is not a date like 2026-10-01") from None
        return cls(
            ZoneInfo(str(handoff.get("timezone", "Asia/Shanghai"))),
            opens,
            closes,
            _parse_days(str(handoff.get("days", "mon-sun"))),
            frozenset(holidays),
        )

    def _open_on(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def is_open(self, moment: datetime) -> bool:
        """True during business hours (`moment` must carry a time zone)."""
        local = moment.astimezone(self.zone)
        return self._open_on(local.date()) and self.opens <= local.time() < self.closes

    def next_opening(self, moment: datetime) -> Optional[datetime]:
        """The next time people answer (now, if open), within a year; None if never."""
        local = moment.astimezone(self.zone)
        if self.is_open(local):
            return local
        for offset in range(0, 366):
            day = local.date() + timedelta(days=offset)
            if not self._open_on(day):
                continue
            opening = datetime.combine(day, self.opens, tzinfo=self.zone)
            if opening > local:
                return opening
        return None

    def describe_next_opening(self, moment: datetime) -> str:
        """Chinese wording for the customer: '今天 18:00 后', '明天 09:00 后', '10月8日 09:00 后'."""
        opening = self.next_opening(moment)
        if opening is None:
            return "工作时间内"
        local_today = moment.astimezone(self.zone).date()
        days = (opening.date() - local_today).days
        when = {0: "今天", 1: "明天", 2: "后天"}.get(days, f"{opening.month}月{opening.day}日")
        return f"{when} {opening:%H:%M} 后"
