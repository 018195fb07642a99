"""The results document of one benchmark run: reading, checking and writing it.

``peerlab bench`` writes everything it measured into one JSON document,
``bench/results/<date>-<release>/results.json``, and the analysis only ever
reads that file. So a run can be plotted and reported again later, on another
machine, and runs of several releases can be compared. ``SCHEMA`` (the run)
and ``MEASUREMENTS`` (each transport's) below are the document's shape
(schema 1); every measurement key of a transport, and any transport, may be
missing (not run). Fields not named in it are kept and
ignored, so the measurement side can record more than the analysis reads.

The check is strict about what the analysis reads, and its errors name the
field by its path (``transports.tls.resync[1]: missing field 'seconds'``), so
a broken run is found when it is loaded, not halfway through a plot.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
RESULTS_FILE = "results.json"
# Transports in the order every table and plot lists them.
KNOWN_TRANSPORTS = ("tls", "plain")

Document = dict[str, Any]


class ResultsError(ValueError):
    """The results document is unreadable or not of schema 1; the message names the field."""


# --- the schema ----------------------------------------------------------------
# Kinds of values: a name for scalars and lists of numbers, a dict for an
# object (field -> kind), a one-element list for a list of such objects,
# MayLack(kind) for a field that may be missing.

NUMBER, INTEGER, TEXT, FLAG, NUMBERS, TIME = (
    "number",
    "integer",
    "text",
    "true or false",
    "list of numbers",
    "ISO 8601 time",
)


@dataclass(frozen=True)
class MayLack:
    """A field the document may leave out."""

    kind: Any


LATENCY_PERCENTILES = {"p50": NUMBER, "p90": NUMBER, "p99": NUMBER, "max": NUMBER}

MEASUREMENTS: dict[str, Any] = {
    "replication": {
        "rtt_ms": NUMBERS,
        "runs": [{"after_response_ms": NUMBERS, "after_request_ms": NUMBERS, "missed": INTEGER}],
    },
    "resync": [{"entries": INTEGER, "seconds": NUMBERS}],
    "memory": [{"entries": INTEGER, "rss_kib": NUMBER}],
    # A reload of the member holding each size: until a new worker alone holds it.
    "handover": [{"entries": INTEGER, "seconds": NUMBERS}],
    # Entries set through the runtime API to reach each size.
    "fill": [{"entries": INTEGER, "added": INTEGER, "seconds": NUMBER}],
    "reload_under_load": [
        {
            "balance": TEXT,
            "target_rps": NUMBER,
            "sessions": INTEGER,
            "reloads": [{"at_s": NUMBER, "took_s": NUMBER}],
            "phases": {"before": NUMBERS, "during": NUMBERS, "after": NUMBERS},
            "requests": {"t_s": NUMBERS, "latency_ms": NUMBERS, "ok": NUMBERS, "moved": NUMBERS},
            "failed": INTEGER,
            "moved_sessions": INTEGER,
            "entries_before": INTEGER,
            "entries_after": INTEGER,
        }
    ],
    "peers_on_off": [
        {
            "peers": FLAG,
            "seconds": NUMBER,
            "requests": INTEGER,
            "errors": INTEGER,
            "latency_ms": LATENCY_PERCENTILES,
        }
    ],
    "members": [
        {"members": INTEGER, "entries": INTEGER, "replication_ms": NUMBERS, "resync_s": NUMBERS}
    ],
}

SCHEMA: dict[str, Any] = {
    "schema": INTEGER,
    "started": TIME,
    "finished": TIME,
    "release": TEXT,
    "haproxy_version": TEXT,
    "machine": {
        "cpus": INTEGER,
        "memory_gib": NUMBER,
        "cpu_model": TEXT,
        "kernel": TEXT,
        "provider": TEXT,
    },
    "limits": MayLack(dict),
    # Length in bytes of the stick table's keys in this run (32 for the lab's
    # md5 session ids); the members projection estimates message sizes from it.
    "key_bytes": MayLack(INTEGER),
}


# --- checking --------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and not (isinstance(value, float) and math.isnan(value))
    )


def _check(value: Any, kind: Any, where: str) -> None:
    """Raise ResultsError naming ``where`` when ``value`` is not of ``kind``."""
    if isinstance(kind, MayLack):
        kind = kind.kind
    if kind is dict:
        ok = isinstance(value, dict)
    elif isinstance(kind, dict):
        if not isinstance(value, dict):
            raise ResultsError(f"{where}: expected an object, got {type(value).__name__}")
        for name, field_kind in kind.items():
            if name not in value:
                if isinstance(field_kind, MayLack):
                    continue
                raise ResultsError(f"{where or 'document'}: missing field {name!r}")
            _check(value[name], field_kind, f"{where}.{name}" if where else name)
        return
    elif isinstance(kind, list):
        if not isinstance(value, list):
            raise ResultsError(f"{where}: expected a list, got {type(value).__name__}")
        for index, item in enumerate(value):
            _check(item, kind[0], f"{where}[{index}]")
        return
    elif kind == NUMBERS:
        if not isinstance(value, list):
            raise ResultsError(f"{where}: expected a {NUMBERS}, got {type(value).__name__}")
        for index, item in enumerate(value):
            if not _is_number(item):
                raise ResultsError(f"{where}[{index}]: expected a number, got {item!r}")
        return
    elif kind == NUMBER:
        ok = _is_number(value)
    elif kind == INTEGER:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == FLAG:
        ok = isinstance(value, bool)
    elif kind == TEXT:
        ok = isinstance(value, str)
    elif kind == TIME:
        ok = isinstance(value, str) and _parses_as_time(value)
    else:
        raise AssertionError(f"unknown kind {kind!r} in the schema")
    if not ok:
        wanted = "an object" if kind is dict else f"a {kind}" if kind != INTEGER else "an integer"
        raise ResultsError(f"{where}: expected {wanted}, got {value!r}")


def _parses_as_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def validate(document: Any) -> Document:
    """Check ``document`` against schema 1 and return it; ResultsError names what is wrong."""
    if not isinstance(document, dict):
        raise ResultsError(f"expected a JSON object, got {type(document).__name__}")
    if "schema" not in document:
        raise ResultsError("missing field 'schema' (this peerlab reads schema 1)")
    if document["schema"] != SCHEMA_VERSION:
        raise ResultsError(
            f"schema {document['schema']!r}: this peerlab reads schema {SCHEMA_VERSION} only"
        )
    _check(document, SCHEMA, "")
    if "transports" not in document:
        raise ResultsError("document: missing field 'transports'")
    transports = document["transports"]
    if not isinstance(transports, dict):
        raise ResultsError("transports: expected an object (transport -> measurements)")
    for transport, measured in transports.items():
        where = f"transports.{transport}"
        if not isinstance(measured, dict):
            raise ResultsError(f"{where}: expected an object of measurements")
        for key, kind in MEASUREMENTS.items():
            if key in measured:
                _check(measured[key], kind, f"{where}.{key}")
        for index, run in enumerate(measured.get("reload_under_load", [])):
            _check_reload_run(run, f"{where}.reload_under_load[{index}]")
    return document


def _check_reload_run(run: Mapping[str, Any], where: str) -> None:
    """What the schema's kinds cannot say: parallel request arrays, phases as spans."""
    requests = run["requests"]
    lengths = {name: len(values) for name, values in requests.items() if isinstance(values, list)}
    if len(set(lengths.values())) > 1:
        counts = ", ".join(f"{name} {count}" for name, count in lengths.items())
        raise ResultsError(f"{where}.requests: the arrays must be parallel, got {counts}")
    for name, span in run["phases"].items():
        if len(span) != 2 or span[0] > span[1]:
            raise ResultsError(f"{where}.phases.{name}: expected [start_s, end_s], got {span!r}")


# --- files -----------------------------------------------------------------------


def load(path: Path) -> Document:
    """Read and check a results document; ``path`` is the file or its folder."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise ResultsError(f"{path}: no such file; run `peerlab bench` first") from error
    except json.JSONDecodeError as error:
        raise ResultsError(f"{path}: not JSON: {error}") from error
    try:
        return validate(document)
    except ResultsError as error:
        raise ResultsError(f"{path}: {error}") from error


def save(document: Document, folder: Path) -> Path:
    """Check ``document`` and write it as ``folder``/results.json; returns the file.

    Lists of numbers stay on one line each, everything else is indented: the
    file stays readable and its diffs small although it holds thousands of
    samples.
    """
    validate(document)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RESULTS_FILE
    path.write_text(_dumps(document, 0) + "\n")
    return path


def _dumps(value: Any, depth: int) -> str:
    if isinstance(value, dict) and value:
        inner = "  " * (depth + 1)
        items = (
            f"{inner}{json.dumps(key)}: {_dumps(item, depth + 1)}" for key, item in value.items()
        )
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        inner = "  " * (depth + 1)
        items = (f"{inner}{_dumps(item, depth + 1)}" for item in value)
        return "[\n" + ",\n".join(items) + "\n" + "  " * depth + "]"
    return json.dumps(value)


def results_folder(root: Path, document: Document) -> Path:
    """Where a run's files go: ``root``/<date the run started>-<release>."""
    started = datetime.fromisoformat(document["started"])
    return Path(root) / f"{started.date().isoformat()}-{document['release']}"


# --- reading -------------------------------------------------------------------


def transports(document: Document) -> list[str]:
    """The transports measured, tls and plain first."""
    names = list(document["transports"])
    return [name for name in KNOWN_TRANSPORTS if name in names] + [
        name for name in names if name not in KNOWN_TRANSPORTS
    ]


def measured(document: Document, transport: str, key: str) -> Any | None:
    """One measurement of one transport, or None when it was not run (or is empty)."""
    value = document["transports"].get(transport, {}).get(key)
    return value or None


def run_label(document: Document) -> str:
    """Which software the run measured, for titles: 'trixie, HAProxy 3.0.11-1'."""
    return f"{document['release']}, HAProxy {document['haproxy_version']}"


def duration_s(document: Document) -> float:
    """Seconds from the run's start to its end."""
    started = datetime.fromisoformat(document["started"])
    finished = datetime.fromisoformat(document["finished"])
    return (finished - started).total_seconds()
