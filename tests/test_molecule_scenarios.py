"""Molecule skips a verify step whose folder holds no tests, with only a warning.

These checks make a mistyped path in a scenario's test sequence fail loudly.
"""

from pathlib import Path

import pytest
import yaml

MOLECULE = Path(__file__).parents[1] / "molecule"
SCENARIOS = sorted(p.parent for p in MOLECULE.glob("*/molecule.yml"))


def load(scenario: Path) -> dict:
    return yaml.safe_load((scenario / "molecule.yml").read_text())


def sequence_args(scenario: Path, action: str) -> list[str]:
    steps = load(scenario)["scenario"]["test_sequence"]
    return [s.split(" ", 1)[1] for s in steps if s.startswith(action + " ")]


def test_there_are_scenarios():
    assert SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_every_verify_folder_holds_tests(scenario):
    folders = [load(scenario)["verifier"]["directory"], *sequence_args(scenario, "verify")]
    assert len(folders) >= 3
    for folder in folders:
        assert list((scenario / folder).glob("test_*.py")), f"{scenario.name}: no tests in {folder}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_every_side_effect_playbook_exists(scenario):
    playbooks = sequence_args(scenario, "side_effect")
    assert len(playbooks) >= 2
    for playbook in playbooks:
        assert (scenario / playbook).is_file(), f"{scenario.name}: {playbook} missing"
