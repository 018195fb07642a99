"""The Molecule stages the libvirt lab's end-to-end test runs on its own bring-up."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
SPEC = importlib.util.spec_from_file_location(
    "molecule_stages", ROOT / "tests" / "e2e" / "molecule_stages.py"
)
molecule_stages = importlib.util.module_from_spec(SPEC)
# Registered before it runs: its dataclass looks its module up.
sys.modules["molecule_stages"] = molecule_stages
SPEC.loader.exec_module(molecule_stages)

SHARED = ROOT / "molecule" / "shared"


def test_the_stages_are_the_vm_scenarios_verify_steps_with_their_side_effects():
    assert [(s.name, s.side_effect) for s in molecule_stages.STAGES] == [
        ("converged", None),
        ("after_reload", SHARED / "stop_lb2_reload_lb1.yml"),
        ("after_restart", SHARED / "start_lb2.yml"),
    ]
    for stage in molecule_stages.STAGES:
        assert list(stage.tests.glob("test_*.py")), stage


def test_the_vm_stages_leave_out_only_files_that_exist_in_their_own_stage():
    left_out = {s.name: molecule_stages.left_out(s.tests) for s in molecule_stages.STAGES}
    assert left_out == {
        "converged": [SHARED / "tests" / "converged" / "test_bad_input.py"],
        "after_reload": [],
        "after_restart": [],
    }
    assert all(path.is_file() for paths in left_out.values() for path in paths)


def test_the_vm_scenario_runs_the_base_sequence_the_stages_are_read_from():
    scenario = yaml.safe_load((ROOT / "molecule" / "default" / "molecule.yml").read_text())
    assert "test_sequence" not in scenario.get("scenario", {})


def test_a_sequence_without_verify_after_idempotence_is_refused():
    config = {
        "scenario": {"test_sequence": ["create", "converge", "idempotence", "destroy"]},
        "verifier": {"directory": "../shared/tests/converged"},
    }
    with pytest.raises(ValueError, match="no verify step after idempotence"):
        molecule_stages.stages(config)


RECAP = """
PLAY RECAP *********************************************************************
haproxy-1                  : ok=42   changed={lb1}    unreachable=0    failed=0    skipped=9    rescued=0    ignored=0
haproxy-2                  : ok=38   changed=0    unreachable=0    failed={lb2}    skipped=9    rescued=0    ignored=0
"""  # noqa: E501


def test_a_second_run_that_changed_nothing_names_no_host():
    output = "changed: [web] in an earlier play\n" + RECAP.format(lb1=0, lb2=0)
    assert molecule_stages.changed_hosts(output, ["haproxy-1", "haproxy-2"]) == {}


def test_a_change_a_failure_or_a_missing_host_is_named():
    output = RECAP.format(lb1=2, lb2=1)
    assert molecule_stages.changed_hosts(output, ["haproxy-1", "haproxy-2", "web"]) == {
        "haproxy-1": "changed=2 failed=0",
        "haproxy-2": "changed=0 failed=1",
        "web": "not in the PLAY RECAP",
    }


def test_testinfra_shares_one_ssh_connection_per_host():
    # A folder as short as the stages' own (/tmp/peerlab-ssh-<8 characters>).
    tmp_path = Path("/tmp/peerlab-ssh-abcdefgh")
    connection = {"ansible_host": "192.0.2.11", "ansible_ssh_common_args": "-o LogLevel=ERROR"}
    shared = molecule_stages.sharing_connections(connection, tmp_path)
    assert shared["ansible_host"] == "192.0.2.11"
    assert shared["ansible_ssh_common_args"] == (
        "-o LogLevel=ERROR -o ControlMaster=auto -o ControlPersist=60s "
        f"-o ControlPath={tmp_path}/%C"
    )
    assert (
        "ControlPath"
        in molecule_stages.sharing_connections({}, tmp_path)["ansible_ssh_common_args"]
    )


def test_a_control_folder_too_long_for_ssh_sockets_is_refused():
    long_folder = Path("/tmp") / ("x" * 60)
    with pytest.raises(ValueError, match="too long for SSH's control sockets"):
        molecule_stages.sharing_connections({}, long_folder)


@pytest.mark.parametrize("strategy", ["mitogen_linear", "linear"])
def test_testinfra_inventory_names_every_lab_host_under_either_strategy(
    strategy, tmp_path, monkeypatch
):
    # Mitogen's strategy (ansible.cfg) reports the rendering task once per
    # host, Ansible's once for all: the inventory must hold every host either way.
    monkeypatch.setenv("ANSIBLE_STRATEGY", strategy)
    path = molecule_stages.write_testinfra_inventory(tmp_path, Path("/tmp/peerlab-ssh-abcdefgh"))
    groups = yaml.safe_load(path.read_text())["all"]["children"]
    hosts = {group: sorted(members["hosts"]) for group, members in groups.items()}
    assert hosts == {"web": ["web"], "loadbalancers": ["haproxy-1", "haproxy-2"]}
    sharing = "ControlPath=/tmp/peerlab-ssh-abcdefgh/%C"
    for group in groups.values():
        for connection in group["hosts"].values():
            assert sharing in connection["ansible_ssh_common_args"]


def test_a_failed_playbooks_message_names_an_unreachable_host_however_long_the_run():
    unreachable = (
        "fatal: [haproxy-1]: UNREACHABLE! => changed=false\n"
        "  msg: 'Connection timed out during banner exchange'"
    )
    output = "\n".join([unreachable, *["ok: [haproxy-2]"] * 5000])
    run = subprocess.CompletedProcess(args=[], returncode=4, stdout=output, stderr="")
    message = molecule_stages.playbook_failure(run)
    assert message.startswith(unreachable)
    assert len(message) < 6000
