"""Results documents for the benchmark tests: the recorded run, and tiny ones built here.

The recorded document (tests/data/bench/results.json) is replaced by the one
of a real run now and then, so tests read only its shape from it; tests that
check numbers build their own tiny document with ``tiny``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

RECORDED = Path(__file__).parent / "data" / "bench" / "results.json"


def tiny(tls: dict | None = None, **transports: dict) -> dict:
    """The smallest valid document holding only the measurements given per transport."""
    return {
        "schema": 1,
        "started": "2026-11-29T10:00:00+00:00",
        "finished": "2026-11-29T10:12:00+00:00",
        "release": "trixie",
        "haproxy_version": "3.0.11-1",
        "machine": {
            "cpus": 2,
            "memory_gib": 23.4,
            "cpu_model": "test",
            "kernel": "6.1.0",
            "provider": "docker",
        },
        "transports": {**({"tls": tls} if tls is not None else {}), **transports},
    }


def changed(document: dict, change: Callable[[dict], object]) -> dict:
    """A deep copy of ``document`` after ``change(copy)``."""
    copied = copy.deepcopy(document)
    change(copied)
    return copied
