"""docs/claims.md names tests that exist: a renamed or removed test leaves no claim unproven
without this test saying so."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
CLAIMS = ROOT / "docs" / "claims.md"
TEST_TREES = [ROOT / "molecule" / "shared" / "tests", ROOT / "tests"]


def project_test_files() -> list[Path]:
    return [path for tree in TEST_TREES for path in tree.rglob("test_*.py")]


def named_in_claims() -> tuple[set[str], set[str]]:
    """(test files, as written; test functions) in the map's code spans."""
    files, functions = set(), set()
    for span in re.findall(r"`([^`]+)`", CLAIMS.read_text()):
        for part in span.split("::"):
            if part.endswith(".py") and Path(part).name.startswith("test_"):
                files.add(part)
            elif re.fullmatch(r"test_\w+", part):
                functions.add(part)
    return files, functions


def test_every_test_file_the_map_names_exists():
    files, _ = named_in_claims()
    assert len(files) >= 20, files
    present = [path.as_posix() for path in project_test_files()]
    missing = [name for name in files if not any(p.endswith("/" + name) for p in present)]
    assert not missing, missing


def test_every_test_function_the_map_names_exists():
    _, functions = named_in_claims()
    assert len(functions) >= 20, functions
    defined = {
        name
        for path in project_test_files()
        for name in re.findall(r"^def (test_\w+)\(", path.read_text(), re.M)
    }
    assert functions <= defined, sorted(functions - defined)
