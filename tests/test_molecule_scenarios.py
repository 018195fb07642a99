"""Molecule skips a verify step whose folder holds no tests, with only a warning.

These checks make a mistyped path in a scenario's test sequence fail loudly.
"""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
MOLECULE = ROOT / "molecule"
BASE_CONFIG = ROOT / ".config" / "molecule" / "config.yml"
SCENARIOS = sorted(p.parent for p in MOLECULE.glob("*/molecule.yml"))


def merged(base: dict, override: dict) -> dict:
    """Molecule's merge of a scenario onto the base config: dictionaries key by key."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            result[key] = merged(base[key], value)
        else:
            result[key] = value
    return result


def load(scenario: Path) -> dict:
    base = yaml.safe_load(BASE_CONFIG.read_text())
    return merged(base, yaml.safe_load((scenario / "molecule.yml").read_text()))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_the_base_config_gives_every_scenario_the_shared_converge_and_tests(scenario):
    config = load(scenario)
    assert config["provisioner"]["playbooks"]["converge"] == "../../playbooks/site.yml"
    assert config["provisioner"]["env"]["ANSIBLE_ROLES_PATH"].endswith("/roles")
    assert config["verifier"]["name"] == "testinfra"


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


def test_the_docker_scenario_runs_the_clients_stage_on_a_healthy_pair_before_the_faults():
    folders = sequence_args(MOLECULE / "docker", "verify")
    assert "../shared/tests/clients" in folders
    # The fault matrix ends with both tables emptied on purpose.
    assert folders.index("../shared/tests/clients") < folders.index("../shared/tests/faults")


def host_vars(scenario: Path) -> dict[str, dict]:
    return {
        path.stem: yaml.safe_load(path.read_text())
        for path in sorted((scenario / "host_vars").glob("*.yml"))
    }


def platforms(scenario: Path) -> dict[str, dict]:
    return {p["name"]: p for p in load(scenario)["platforms"]}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_the_load_balancers_share_a_floating_address_on_the_scenarios_network(scenario):
    variables = host_vars(scenario)
    lbs = [name for name, p in platforms(scenario).items() if "loadbalancers" in p["groups"]]
    assert len(lbs) == 2
    addresses = {variables[name]["keepalived_vip_address"] for name in lbs}
    assert len(addresses) == 1, f"{scenario.name}: the load balancers disagree: {addresses}"
    (address,) = addresses
    # The machines' own addresses (host_vars also holds Molecule's localhost).
    own = {variables[name]["private_ip"] for name in platforms(scenario)}
    assert address not in own
    subnets = {ip.rsplit(".", 1)[0] for ip in own}
    assert subnets == {address.rsplit(".", 1)[0]}, f"{scenario.name}: {address} outside {subnets}"


def test_only_the_docker_scenarios_load_balancers_may_change_addresses():
    capabilities = {name: p["capabilities"] for name, p in platforms(MOLECULE / "docker").items()}
    assert capabilities == {
        "web": ["SYS_ADMIN"],
        "haproxy-1": ["SYS_ADMIN", "NET_ADMIN"],
        "haproxy-2": ["SYS_ADMIN", "NET_ADMIN"],
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_verifier_options_are_strings_as_molecule_needs_them(scenario):
    # Molecule turns each option into pytest's arguments with a regular
    # expression: a number (durations: 8) stops every verify step.
    options = load(scenario)["verifier"].get("options", {})
    assert options
    assert {k: v for k, v in options.items() if not isinstance(v, str)} == {}
