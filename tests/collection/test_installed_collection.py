"""The roles as another team takes them: the built collection, installed elsewhere.

The test builds the collection, installs it into a temporary folder and, from
there, with a playbook and inventory of its own outside the checkout (no
roles path, no ansible.cfg of the project), sets up three load balancers in a
group named `edge`, with a peers section, port, backend, cookie and stats
address of their own and TLS peers from a CA made here (bring your own
certificates), in front of one web host. The machines are systemd containers
of the lab's image on a network of their own, removed afterwards.

Needs a Docker engine and the lab image (`make test-collection` sees to both).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from peerlab.channels import project_tool
from peerlab.checkout import ROOT, lab_defaults
from peerlab.inventory import load_balancers
from peerlab.lab import LoadBalancer, Names, wait_all_synced, wait_reloaded, wait_replicated
from peerlab.pki import Authority
from peerlab.runtime import show_proc, show_table
from peerlab.sync import wait_until

GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
COLLECTION = f"{GALAXY['namespace']}.{GALAXY['name']}"
IMAGE = f"haproxy-peers-lab/debian:{os.environ.get('LAB_DEBIAN') or lab_defaults()['LAB_DEBIAN']}"
NETWORK = "peerlab-collection"
SUBNET = "192.168.58"
LABEL = "io.haproxy-peers-lab.collection-test"
WEB = {"shop-web": f"{SUBNET}.10"}
EDGE = {"edge-a": f"{SUBNET}.21", "edge-b": f"{SUBNET}.22", "edge-c": f"{SUBNET}.23"}
NAMES = Names(section="shop-peers", table="shop-sessions", cookie="SHOPSESSION")
PEERS_PORT = 10100
STATS_PORT = 9000
SETTLE_TIMEOUT_S = 90.0
SYSTEMD = (
    "--cap-add", "SYS_ADMIN", "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock",
)  # fmt: skip

CATALOG_PORT = 8090
VHOSTS = {"shop1": 8081, "shop2": 8082, "shop3": 8083}
SERVERS = "\n".join(
    f"          - {{name: {name}, address: {WEB['shop-web']}, port: {port}}}"
    for name, port in VHOSTS.items()
)
VHOST_LIST = "\n".join(
    f"          - {{name: {name}, port: {port}, body: Backend {index}}}"
    for index, (name, port) in enumerate(VHOSTS.items(), 1)
)
PLAYBOOK = f"""\
- name: Web hosts
  hosts: web
  become: true
  roles:
    - role: {COLLECTION}.apache_backends
      vars:
        apache_backends_listen_address: "{{{{ private_ip }}}}"
        apache_backends_vhosts:
{VHOST_LIST}

- name: Edge load balancers
  hosts: edge
  become: true
  roles:
    - role: {COLLECTION}.haproxy_peers
      vars:
        haproxy_peers_servers:
{SERVERS}
        # A second service: sticky on the client's address.
        haproxy_peers_services:
          - name: catalog
            binds: [{{address: "*:{CATALOG_PORT}"}}]
            balance: hash
            stick: {{kind: source}}
            servers:
{SERVERS.replace("          - ", "              - ")}
"""


def docker(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *argv], capture_output=True, text=True, timeout=300, check=check
    )


def remove_leftovers() -> None:
    """Containers and the network of an earlier run of this test."""
    stale = docker("ps", "-aq", "--filter", f"label={LABEL}").stdout.split()
    if stale:
        docker("rm", "-f", *stale)
    docker("network", "rm", NETWORK, check=False)


@pytest.fixture(scope="module")
def machines() -> Iterator[dict[str, str]]:
    remove_leftovers()
    docker("network", "create", "--subnet", f"{SUBNET}.0/24", "--label", LABEL, NETWORK)
    hosts = {**WEB, **EDGE}
    try:
        for name, ip in hosts.items():
            docker(
                "run", "-d", "--name", f"peerlab-collection-{name}", "--hostname", name,
                "--network", NETWORK, "--ip", ip, "--label", LABEL, *SYSTEMD, IMAGE, "/sbin/init",
            )  # fmt: skip
        yield hosts
    finally:
        remove_leftovers()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("elsewhere")


@pytest.fixture(scope="module")
def ansible_env(workdir) -> dict[str, str]:
    """The environment of a team that installed the collection: nothing of the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))}
    return {**env, "ANSIBLE_COLLECTIONS_PATH": str(workdir / "collections"), "ANSIBLE_NOCOLOR": "1"}


@pytest.fixture(scope="module")
def installed(workdir, ansible_env) -> Path:
    """Build the collection from the checkout, install it into the work folder."""
    build = subprocess.run(
        [project_tool("ansible-galaxy"), "collection", "build", "--output-path", str(workdir)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    tarball = next(workdir.glob("*.tar.gz"))
    subprocess.run(
        [project_tool("ansible-galaxy"), "collection", "install", str(tarball)],
        cwd=workdir, env=ansible_env, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    path = workdir / "collections" / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    assert (path / "roles" / "haproxy_peers").is_dir(), build.stdout
    return path


@pytest.fixture(scope="module")
def inventory(workdir, machines) -> Path:
    """Inventory, certificates from a CA of its own, and the playbook, outside the checkout."""
    pki = workdir / "pki"
    pki.mkdir()
    ca = Authority("shop peers CA")
    (pki / "ca.crt").write_text(ca.cert)
    for name in EDGE:
        ca.issue(name).write(pki, name)
    connection = {
        "ansible_connection": "community.docker.docker",
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    hosts = {
        "all": {
            "children": {
                "web": {
                    "hosts": {
                        n: {
                            **connection,
                            "ansible_host": f"peerlab-collection-{n}",
                            "private_ip": ip,
                        }
                        for n, ip in WEB.items()
                    }
                },
                "edge": {
                    "hosts": {
                        n: {
                            **connection,
                            "ansible_host": f"peerlab-collection-{n}",
                            "private_ip": ip,
                        }
                        for n, ip in EDGE.items()
                    },
                    "vars": {
                        "haproxy_peers_group": "edge",
                        "haproxy_peers_peer_address": "{{ private_ip }}",
                        "haproxy_peers_port": PEERS_PORT,
                        "haproxy_peers_section_name": NAMES.section,
                        "haproxy_peers_backend_name": NAMES.table,
                        "haproxy_peers_stick_cookie": NAMES.cookie,
                        "haproxy_peers_stats_bind": f"*:{STATS_PORT}",
                        "haproxy_peers_stats_user": "shop",
                        "haproxy_peers_stats_password": "shop-stats",
                        "haproxy_peers_tls_ca_src": str(pki / "ca.crt"),
                        "haproxy_peers_tls_cert_src": str(pki / "{{ inventory_hostname }}.crt"),
                        "haproxy_peers_tls_key_src": str(pki / "{{ inventory_hostname }}.key"),
                    },
                },
            }
        }
    }
    path = workdir / "inventory.yml"
    path.write_text(yaml.safe_dump(hosts, sort_keys=False))
    (workdir / "site.yml").write_text(PLAYBOOK)
    return path


def playbook(workdir: Path, inventory: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [project_tool("ansible-playbook"), "-i", str(inventory), str(workdir / "site.yml")],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip


def recap(output: str) -> dict[str, dict[str, int]]:
    counts = {}
    for line in output.splitlines():
        if ": ok=" in line:
            host, _, fields = line.partition(":")
            counts[host.strip()] = {
                k: int(v) for k, v in (field.split("=") for field in fields.split())
            }
    return counts


@pytest.fixture(scope="module")
def converged(installed, inventory, workdir, ansible_env) -> subprocess.CompletedProcess:
    result = playbook(workdir, inventory, ansible_env)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def lbs(converged, inventory, ansible_env) -> list[LoadBalancer]:
    balancers = load_balancers(inventory, channel="ansible", group="edge")
    wait_all_synced(balancers, timeout=SETTLE_TIMEOUT_S)
    return balancers


def test_the_playbook_ran_the_roles_of_the_installed_collection(converged, installed):
    # Collection roles name their tasks with the role's full name.
    for role in ("apache_backends", "haproxy_peers"):
        assert f"TASK [{COLLECTION}.{role} : " in converged.stdout, role
    assert (installed / "plugins" / "filter" / "peers_tls.py").is_file()
    assert not (installed / "molecule").exists()


def test_a_second_run_changes_nothing(converged, inventory, workdir, ansible_env):
    result = playbook(workdir, inventory, ansible_env)
    assert result.returncode == 0, result.stdout[-3000:]
    counts = recap(result.stdout)
    assert set(counts) == {*WEB, *EDGE}
    assert {host: c["changed"] for host, c in counts.items()} == dict.fromkeys(counts, 0)


def test_peerlab_reads_the_names_the_inventory_gave(lbs):
    assert [lb.name for lb in lbs] == list(EDGE)
    assert {lb.names for lb in lbs} == {NAMES}


def test_a_session_made_on_one_member_is_served_alike_by_the_two_others(lbs):
    sessions = list(range(9001, 9007))
    first = lbs[0].backends_for(sessions)
    assert set(first.values()) == {"Backend 1", "Backend 2", "Backend 3"}
    for other in lbs[1:]:
        wait_replicated(other, sessions)
        assert other.backends_for(sessions) == first, other.name


def test_peerlab_tables_against_the_inventory_shows_identical_tables(lbs, inventory, ansible_env):
    result = subprocess.run(
        [project_tool("peerlab"), "tables", "--json", "--inventory", str(inventory),
         "--group", "edge", "--channel", "ansible"],
        env=ansible_env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["identical"] is True
    assert [lb["name"] for lb in report["load_balancers"]] == list(EDGE)
    assert len(report["entries"]) >= 6
    for lb in report["load_balancers"]:
        assert lb["table"]["name"] == NAMES.table
        assert lb["peers"]["section"] == NAMES.section
        assert sorted(r["name"] for r in lb["peers"]["remotes"]) == sorted(
            name for name in EDGE if name != lb["name"]
        )
        assert all(r["connected"] for r in lb["peers"]["remotes"])
        assert {t["name"] for t in lb["tables"]} == {NAMES.table, "back-catalog"}


def test_the_second_service_keeps_this_client_on_one_server_through_every_member(lbs):
    answers = {
        lb.name: requests.get(f"http://{ip}:{CATALOG_PORT}/", timeout=10).text
        for lb, ip in zip(lbs, EDGE.values(), strict=True)
    }
    assert len(set(answers.values())) == 1, answers
    assert next(iter(answers.values())).startswith("Backend "), answers

    def replicated() -> tuple[bool, list]:
        tables = [show_table(lb.run, "back-catalog").servers() for lb in lbs]
        return len(tables[0]) == 1 and tables[1] == tables[0] == tables[2], tables

    wait_until(replicated, SETTLE_TIMEOUT_S, "the client's entry on every member")


def test_stopping_one_member_and_reloading_another_keeps_the_table(lbs):
    a, b, c = lbs
    table = show_table(b.run, NAMES.table).servers()
    before = show_proc(b.run)
    c.systemctl("stop")
    try:
        b.systemctl("reload")
        wait_reloaded(b, before.reloads, [a.name], timeout=SETTLE_TIMEOUT_S)
        now = show_table(b.run, NAMES.table).servers()
        assert {key: now.get(key) for key in table} == table
        assert b.backends_for(range(9001, 9007)) == a.backends_for(range(9001, 9007))
    finally:
        c.systemctl("start")
    wait_all_synced(lbs, timeout=SETTLE_TIMEOUT_S)
    assert show_table(c.run, NAMES.table).servers() == show_table(a.run, NAMES.table).servers()


def test_the_stats_address_of_the_inventory_serves_the_page_with_its_credentials(lbs):
    for lb, ip in zip(lbs, EDGE.values(), strict=True):
        url = f"http://{ip}:{STATS_PORT}/monitor"
        assert requests.get(url, timeout=10).status_code == 401, lb.name
        assert requests.get(url, auth=("shop", "shop-stats"), timeout=10).status_code == 200
