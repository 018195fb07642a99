"""The collection's filter haproxy_time_ms: HAProxy's time format as milliseconds."""

from __future__ import annotations

import pytest
from role_template import collection_filters

haproxy_time_ms = collection_filters()["haproxy_peers_lab.lab.haproxy_time_ms"]


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        ("1s", 1000),
        ("500ms", 500),
        ("250", 250),
        (250, 250),
        ("50s", 50_000),
        ("2m", 120_000),
        ("1h", 3_600_000),
        ("1d", 86_400_000),
        ("1500us", 2),
        ("0s", 0),
    ],
)
def test_durations_in_haproxy_time_format(value, ms):
    assert haproxy_time_ms(value) == ms


@pytest.mark.parametrize("value", ["soon", "1 s", "1.5s", "-1s", "1sec", "", None, True, -5])
def test_anything_else_is_none(value):
    assert haproxy_time_ms(value) is None
