"""The pinned Python requirements agree: the lab's part of .venv is a part of the whole,
and the collection's tools run the lab's ansible-core."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[1]


def pins(name: str) -> dict[str, str]:
    """Package (lower case) -> pinned version, of requirements file ``name``."""
    found = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            package, separator, version = line.partition("==")
            assert separator, f"{name}: {line!r} is not pinned with =="
            found[package.strip().lower().replace("_", "-")] = version.strip()
    return found


def test_the_labs_requirements_are_pinned_as_the_whole_sets_are():
    lab, whole = pins("requirements-lab.txt"), pins("requirements.txt")
    assert lab, "requirements-lab.txt pins nothing"
    differ = {p: (v, whole.get(p)) for p, v in lab.items() if whole.get(p) != v}
    assert differ == {}, "requirements-lab.txt: (its pin, requirements.txt's pin)"


def test_the_collection_tools_run_the_labs_ansible_core():
    gates, whole = pins("requirements-gates.txt"), pins("requirements.txt")
    assert gates["ansible-core"] == whole["ansible-core"]
