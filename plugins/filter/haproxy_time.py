"""HAProxy's time format as milliseconds, for checks before any task runs.

HAProxy reads "<number>[unit]" (us, ms, s, m, h, d; no unit means ms) in its
timeouts. The role compares durations with each other (a hold may not outlast
the client timeout) and renders some of them as milliseconds, so it needs
their value on the controller, and a clear refusal of anything else.
"""

from __future__ import annotations

import re

DOCUMENTATION = """
name: haproxy_time_ms
short_description: A duration in HAProxy's time format, in milliseconds
description:
  - Reads C(<number>[us|ms|s|m|h|d]) as HAProxy does for timeouts (no unit is
    milliseconds); an integer is milliseconds too. Returns the duration in
    milliseconds, rounded up (C(1us) is 1 ms), or C(none) when the value is
    no duration, so that the caller can name the variable in its message.
options:
  _input:
    description: The duration, for example C(1s), C(500ms), C(50s).
    type: raw
    required: true
"""

RETURN = """
_value:
  description: Milliseconds, or none when the input is no duration.
  type: int
"""

# Unit -> microseconds.
_UNITS = {"us": 1, "ms": 1_000, "": 1_000, "s": 1_000_000, "m": 60_000_000}
_UNITS |= {"h": 60 * _UNITS["m"], "d": 24 * 60 * _UNITS["m"]}
_DURATION = re.compile(r"^(\d+)(us|ms|s|m|h|d)?$")


def haproxy_time_ms(value: object) -> int | None:
    """``value`` in HAProxy's time format as milliseconds, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    match = _DURATION.match(str(value).strip())
    if not match:
        return None
    micros = int(match[1]) * _UNITS[match[2] or ""]
    return -(-micros // 1_000)


class FilterModule:
    def filters(self):
        return {"haproxy_time_ms": haproxy_time_ms}
