"""Each of the roles' checks of their input names what is wrong and what to set.

One ansible-playbook run per role on this machine, with one inventory host per
bad input (connection local). Each host runs what the role runs before any
other task: the argument spec (``validate_argument_spec`` with the role's own
``meta/argument_specs.yml``) and the role's ``tasks/validate.yml``, which only
asserts and reads network facts. Every host must stop at its own check with a
message naming the variable; a host that gets through means a check is gone.
That the roles change nothing on such input is shown on the running lab
(molecule/shared/tests/converged/test_bad_input.py, clients/test_4_bad_input.py).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from peerlab.channels import ANSIBLE_JSON_OUTPUT, project_tool

ROOT = Path(__file__).parents[1]
ROLES = ROOT / "roles"

PLAY = """
- name: What the role checks before any task
  hosts: all
  gather_facts: false
  tasks:
    - name: The role's argument spec
      ansible.builtin.validate_argument_spec:
        argument_spec: "{{ spec.argument_specs.main.options }}"
      vars:
        spec: "{{ lookup('ansible.builtin.file', role_dir ~ '/meta/argument_specs.yml')
          | from_yaml }}"
    - name: The role's checks
      ansible.builtin.include_role:
        name: "{{ role_name_under_test }}"
        tasks_from: validate.yml
"""

SERVERS = [{"name": f"be{n}", "address": "127.0.0.1", "port": 8000 + n} for n in (1, 2)]

# Host -> (its variables, what its failure must say). Every host is in the
# group "pair", which the role is given unless the host's variables say
# otherwise. Two hosts with good input ("good" group) must get through: they
# show that a check that is gone would be noticed.
HAPROXY_PEERS_CASES = {
    "outsider": (
        {"haproxy_peers_group": "pair-without-outsider"},
        "is not a member of that inventory group",
    ),
    "no-servers": ({"haproxy_peers_servers": []}, "haproxy_peers_servers is empty"),
    "empty-server-name": (
        {"haproxy_peers_servers": [{**SERVERS[0], "name": ""}, SERVERS[1]]},
        "haproxy_peers_servers has names HAProxy does not accept: ['']",
    ),
    "server-name-with-space": (
        {"haproxy_peers_servers": [{**SERVERS[0], "name": "be 1"}, SERVERS[1]]},
        "haproxy_peers_servers has names HAProxy does not accept: ['be 1']",
    ),
    "duplicate-server-names": (
        {"haproxy_peers_servers": [SERVERS[0], {**SERVERS[1], "name": "be1"}]},
        "haproxy_peers_servers names a server more than once",
    ),
    "socket-on-the-network": (
        {"haproxy_peers_runtime_socket": "ipv4@127.0.0.1:9999"},
        "haproxy_peers_runtime_socket is 'ipv4@127.0.0.1:9999', but the runtime API",
    ),
    "stats-without-password": (
        {"haproxy_peers_stats_password": ""},
        "needs credentials: set haproxy_peers_stats_user and haproxy_peers_stats_password",
    ),
    "stats-user-with-colon": (
        {"haproxy_peers_stats_user": "ad:min"},
        "haproxy_peers_stats_user may not hold a colon",
    ),
    "stats-user-with-space": (
        {"haproxy_peers_stats_user": "ad min"},
        "haproxy_peers_stats_user may not hold a colon",
    ),
    "stats-user-with-quote": (
        {"haproxy_peers_stats_user": "ad'min"},
        "haproxy_peers_stats_user may not hold a colon",
    ),
    "stats-password-with-quote": (
        {"haproxy_peers_stats_password": "it's"},
        "haproxy_peers_stats_password may not hold a single quote",
    ),
    "unknown-balance": (
        {"haproxy_peers_balance": "fastest"},
        "haproxy_peers_balance must be one of",
    ),
    "hold-bound-no-duration": (
        {"haproxy_peers_handover_hold_timeout": "soon"},
        "haproxy_peers_handover_hold_timeout is 'soon', which is no duration",
    ),
    "hold-bound-past-client-timeout": (
        {"haproxy_peers_handover_hold_timeout": "60s"},
        "haproxy_peers_handover_hold_timeout is '60s', longer than haproxy_peers_timeout_client",
    ),
    "hold-window-too-long": (
        {"haproxy_peers_handover_hold_window": "2m"},
        "haproxy_peers_handover_hold_window is '2m': give a duration",
    ),
    "hold-header-no-name": (
        {"haproxy_peers_handover_hold_header": "X Hold"},
        "haproxy_peers_handover_hold_header is 'X Hold', which is no header name",
    ),
}
HAPROXY_PEERS_GROUP_VARS = {
    "haproxy_peers_group": "pair",
    "haproxy_peers_servers": SERVERS,
    "haproxy_peers_tls": False,
    "haproxy_peers_stats_user": "admin",
    "haproxy_peers_stats_password": "secret",
}

KEEPALIVED_CASES = {
    "outsider": (
        {"keepalived_vip_group": "pair-without-outsider"},
        "outsider is not a member of the inventory group 'pair-without-outsider'",
    ),
    "alone": ({"keepalived_vip_group": "solo"}, "keepalived_vip_group 'solo' has 1 member(s)"),
    "address-not-ipv4": (
        {"keepalived_vip_address": "192.168.57"},
        "keepalived_vip_address must be an IPv4 address (got '192.168.57')",
    ),
    "prefix-33": ({"keepalived_vip_prefix": 33}, "keepalived_vip_prefix must be 1-32 (got 33)"),
    "router-id-0": (
        {"keepalived_vip_router_id": 0},
        "keepalived_vip_router_id must be 1-255 (got 0)",
    ),
    "router-id-not-a-number": (
        {"keepalived_vip_router_id": "fifty-one"},
        "argument 'keepalived_vip_router_id' is of type str",
    ),
    "priority-255": (
        {"keepalived_vip_priority": 255},
        "keepalived_vip_priority must be 1-254 (got 255)",
    ),
    "preempt-delay-1001": (
        {"keepalived_vip_preempt_delay": 1001},
        "keepalived_vip_preempt_delay must be 0-1000 seconds (got 1001)",
    ),
    "advert-int-0": (
        {"keepalived_vip_advert_int": 0},
        "keepalived_vip_advert_int must be at least 1 second (got 0)",
    ),
    "check-port-65536": (
        {"keepalived_vip_check_port": 65536},
        "keepalived_vip_check_port must be 1-65535 (got 65536)",
    ),
    "check-fall-0": (
        {"keepalived_vip_check_fall": 0},
        "keepalived_vip_check_interval, _timeout, _fall and _rise must each be at least 1",
    ),
    "check-host-with-space": (
        {"keepalived_vip_check_host": "local host"},
        "keepalived_vip_check_host must be a host name or address (got 'local host')",
    ),
    "check-user-upper-case": (
        {"keepalived_vip_check_user": "Nobody"},
        "keepalived_vip_check_user must be a user name",
    ),
}
KEEPALIVED_GROUP_VARS = {
    "keepalived_vip_group": "pair",
    "keepalived_vip_address": "192.0.2.100",
}


LOCAL = {
    "ansible_connection": "local",
    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
}
GOOD_HOSTS = ("good-1", "good-2")


def failures(
    role: str, cases: dict, group_vars: dict, good_vars: dict, folder: Path
) -> dict[str, str]:
    """Host -> the messages of the first task that failed on it ("" if none did)."""
    hosts = {name: {**LOCAL, **variables} for name, (variables, _) in cases.items()}
    good = {name: {**LOCAL, **good_vars} for name in GOOD_HOSTS}
    inventory = {
        "all": {
            "vars": {**group_vars, "role_dir": str(ROLES / role), "role_name_under_test": role},
            "children": {
                "pair": {"hosts": hosts},
                # Every case host but the outsider, for the check that the host
                # belongs to its group.
                "pair-without-outsider": {"hosts": {n: {} for n in hosts if n != "outsider"}},
                "solo": {"hosts": {"alone": {}} if "alone" in hosts else {}},
                "good": {"hosts": good},
            },
        }
    }
    (folder / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (folder / "play.yml").write_text(PLAY)
    env = {
        **os.environ,
        **ANSIBLE_JSON_OUTPUT,
        "ANSIBLE_ROLES_PATH": str(ROLES),
        "ANSIBLE_FORKS": "10",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        # The checks as the roles' users run them: under Ansible's own strategy
        # (here on this machine Mitogen's, the checkout's, took 23 s instead of 18).
        "ANSIBLE_STRATEGY": "linear",
    }
    argv = [
        project_tool("ansible-playbook"),
        "-i",
        str(folder / "hosts.yml"),
        str(folder / "play.yml"),
    ]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=300, check=False, env=env, cwd=ROOT
    )
    try:
        tasks = json.loads(result.stdout)["plays"][0]["tasks"]
    except (ValueError, KeyError, IndexError):
        pytest.fail(f"ansible-playbook exited {result.returncode}: {result.stderr[-3000:]}")
    found = dict.fromkeys([*hosts, *good], "")
    for task in tasks:
        for host, outcome in task["hosts"].items():
            if found.get(host) or not outcome.get("failed"):
                continue
            items = outcome.get("results") or [outcome]
            found[host] = " | ".join(
                str(item.get("msg", "")) for item in items if item.get("failed")
            )
    return found


@pytest.fixture(scope="module")
def haproxy_peers_failures(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("haproxy_peers")
    good = {"haproxy_peers_group": "good"}
    return failures("haproxy_peers", HAPROXY_PEERS_CASES, HAPROXY_PEERS_GROUP_VARS, good, folder)


@pytest.fixture(scope="module")
def keepalived_failures(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("keepalived_vip")
    # Their own group, address and interface: the members' agreement is checked too.
    good = {
        "keepalived_vip_group": "good",
        "keepalived_vip_interface": "lo",
    }
    return failures("keepalived_vip", KEEPALIVED_CASES, KEEPALIVED_GROUP_VARS, good, folder)


def test_good_input_gets_through_both_roles_checks(haproxy_peers_failures, keepalived_failures):
    for name in GOOD_HOSTS:
        assert haproxy_peers_failures[name] == "", haproxy_peers_failures[name]
        assert keepalived_failures[name] == "", keepalived_failures[name]


@pytest.mark.parametrize("case", list(HAPROXY_PEERS_CASES))
def test_haproxy_peers_refuses_bad_input_naming_it(haproxy_peers_failures, case):
    message = haproxy_peers_failures[case]
    assert message, f"{case}: the role's checks let it through"
    assert HAPROXY_PEERS_CASES[case][1] in message, message


@pytest.mark.parametrize("case", list(KEEPALIVED_CASES))
def test_keepalived_vip_refuses_bad_input_naming_it(keepalived_failures, case):
    message = keepalived_failures[case]
    assert message, f"{case}: the role's checks let it through"
    assert KEEPALIVED_CASES[case][1] in message, message
