"""Molecule skips a verify step whose folder holds no tests, with only a warning.

These checks make a mistyped path in a scenario's test sequence fail loudly.
"""

import functools
from pathlib import Path

import pytest
import yaml
from makefile_values import makefile_values
from molecule.interpolation import Interpolator, TemplateWithDefaults

from peerlab.checkout import lab_defaults

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


def interpolated(path: Path, env: dict[str, str]) -> dict:
    """``path`` as Molecule reads it: ${VAR} and ${VAR:-default} from ``env``."""
    return yaml.safe_load(Interpolator(TemplateWithDefaults, env).interpolate(path.read_text()))


def load(scenario: Path, env: dict[str, str] | None = None) -> dict:
    env = env or {}
    return merged(interpolated(BASE_CONFIG, env), interpolated(scenario / "molecule.yml", env))


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


def platforms(scenario: Path, env: dict[str, str] | None = None) -> dict[str, dict]:
    return {p["name"]: p for p in load(scenario, env)["platforms"]}


DOCKER = MOLECULE / "docker"
RELEASES = ["bookworm", "trixie", "forky"]


@functools.cache
def molecule_net(release: str) -> str:
    """The /24 that `make molecule-docker DEBIAN=<release>` gives the scenario."""
    (net,) = makefile_values(["MOLECULE_NET"], DEBIAN=release)
    return net


def docker_env(release: str) -> dict[str, str]:
    """What `make molecule-docker DEBIAN=<release>` sets for Molecule."""
    return {"LAB_DEBIAN": release, "LAB_MOLECULE_NET": molecule_net(release)}


# Each scenario as make runs it: the docker one once per release.
RUNS = [
    *[(DOCKER, release) for release in RELEASES],
    *[(s, None) for s in SCENARIOS if s != DOCKER],
]


@pytest.mark.parametrize(
    ("scenario", "release"), RUNS, ids=[f"{s.name}-{r}" if r else s.name for s, r in RUNS]
)
def test_the_load_balancers_share_a_floating_address_on_the_scenarios_network(scenario, release):
    variables = host_vars(scenario)
    machines = platforms(scenario, docker_env(release) if release else None)
    lbs = [name for name, p in machines.items() if "loadbalancers" in p["groups"]]
    assert len(lbs) == 2
    addresses = {variables[name]["keepalived_vip_address"] for name in lbs}
    assert len(addresses) == 1, f"{scenario.name}: the load balancers disagree: {addresses}"
    (address,) = addresses
    # The machines' own addresses (host_vars also holds Molecule's localhost).
    own = {variables[name]["private_ip"] for name in machines}
    assert address not in own
    subnets = {ip.rsplit(".", 1)[0] for ip in own}
    assert subnets == {address.rsplit(".", 1)[0]}, f"{scenario.name}: {address} outside {subnets}"


@pytest.mark.parametrize("release", RELEASES)
def test_each_release_puts_its_machines_where_its_host_vars_say(release):
    variables = host_vars(DOCKER)
    machines = platforms(DOCKER, docker_env(release))
    assert sorted(machines) == [f"{release}-{m}" for m in ("haproxy-1", "haproxy-2", "web")]
    (network,) = load(DOCKER, docker_env(release))["platforms"][0]["docker_networks"]
    assert network["name"] == f"peerlab-molecule-{release}"
    assert network["ipam_config"] == [{"subnet": f"{molecule_net(release)}.0/24"}]
    for name, platform in machines.items():
        (attached,) = platform["networks"]
        assert attached == {"name": network["name"], "ipv4_address": variables[name]["private_ip"]}


def test_the_releases_scenarios_share_no_network_with_each_other_or_the_other_labs():
    nets = [molecule_net(release) for release in RELEASES]
    assert all(nets), nets
    # The Vagrant lab, the installed collection's machines, the VM scenario.
    taken = {"192.168.56", "192.168.58", "192.168.59"}
    assert len(set(nets)) == len(nets), nets
    assert not taken & set(nets), nets


def test_the_docker_scenario_run_by_hand_is_the_default_release_as_make_runs_it():
    release = lab_defaults()["LAB_DEBIAN"]
    assert load(DOCKER) == load(DOCKER, {**docker_env(release), "LAB_DEBIAN": release})


def test_only_the_docker_scenarios_load_balancers_may_change_addresses():
    capabilities = {name: p["capabilities"] for name, p in platforms(DOCKER).items()}
    assert capabilities == {
        "trixie-web": ["SYS_ADMIN"],
        "trixie-haproxy-1": ["SYS_ADMIN", "NET_ADMIN"],
        "trixie-haproxy-2": ["SYS_ADMIN", "NET_ADMIN"],
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_verifier_options_are_strings_as_molecule_needs_them(scenario):
    # Molecule turns each option into pytest's arguments with a regular
    # expression: a number (durations: 8) stops every verify step.
    options = load(scenario)["verifier"].get("options", {})
    assert options
    assert {k: v for k, v in options.items() if not isinstance(v, str)} == {}
