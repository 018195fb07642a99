"""Measurement 6: more members. The lab's two load balancers plus up to three more, as
containers of the lab's own image on the lab's network, provisioned by the same
playbook (``playbooks/site.yml``) from an inventory that lists them all.

The extra containers carry the lab's label, so ``make lab-down`` (and a later
``make lab``) removes them like the lab's own; the bench removes them itself
and provisions the lab back to its own inventory at the end.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import yaml

from peerlab.channels import project_tool
from peerlab.checkout import ROOT

LAB_LABEL = "io.haproxy-peers-lab.lab"
BENCH_LABEL = "io.haproxy-peers-lab.bench"
IMAGE_REPO = "haproxy-peers-lab/debian"
PLAYBOOK_TIMEOUT_S = 1800
DOCKER_TIMEOUT_S = 120
SYSTEMD_ARGS = (
    "--cap-add", "SYS_ADMIN", "--cgroupns=host",
    "--tmpfs", "/run", "--tmpfs", "/run/lock",
)  # fmt: skip


class MembersError(RuntimeError):
    """Extra members cannot be made or provisioned; the message says why."""


def _docker(*args: str) -> str:
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=DOCKER_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        raise MembersError(f"docker {' '.join(args[:3])}...: {result.stderr.strip()}")
    return result.stdout


def lab_network(address: str) -> str:
    """The docker network of the lab container that has ``address``."""
    for container in _docker("ps", "-q", "--filter", f"label={LAB_LABEL}").split():
        networks = json.loads(
            _docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", container)
        )
        for name, settings in networks.items():
            if settings.get("IPAddress") == address:
                return name
    raise MembersError(
        f"no container of the docker lab has the address {address}: the members "
        "measurement needs the docker lab (make lab)"
    )


def extra_addresses(last_address: str, count: int) -> list[str]:
    """``count`` addresses after the lab's last load balancer."""
    base = ipaddress.ip_address(last_address)
    return [str(base + offset) for offset in range(1, count + 1)]


def cgroup_mount(release: str, name: str) -> str:
    """/sys/fs/cgroup for the container's systemd (a subtree where the release needs one)."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "systemd-cgroups"), release, "peerlab-bench", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise MembersError(result.stderr.strip())
    assignment = result.stdout.strip()
    return assignment.split("=", 1)[1] if assignment else "/sys/fs/cgroup"


def start_members(
    names: Sequence[str], addresses: Sequence[str], network: str, release: str
) -> None:
    """Start a systemd container of the lab image per name, on the lab's network."""
    for name, address in zip(names, addresses, strict=True):
        container = f"peerlab-bench-{name}"
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
        cgroups = cgroup_mount(release, name)
        if cgroups != "/sys/fs/cgroup":
            os.makedirs(cgroups, exist_ok=True)
        _docker(
            "run", "-d", "--name", container, "--hostname", name,
            *SYSTEMD_ARGS, "-v", f"{cgroups}:/sys/fs/cgroup:rw",
            "--network", network, "--ip", address,
            "--label", f"{LAB_LABEL}={ROOT}", "--label", f"{BENCH_LABEL}=member",
            f"{IMAGE_REPO}:{release}", "/sbin/init",
        )  # fmt: skip


def remove_members() -> int:
    """Remove every extra member container; how many there were."""
    containers = _docker("ps", "-aq", "--filter", f"label={BENCH_LABEL}").split()
    for container in containers:
        _docker("rm", "-f", container)
    return len(containers)


def write_inventory(folder: Path, extra: dict[str, str]) -> Path:
    """The lab's inventory plus ``extra`` load balancers (name -> address), in ``folder``."""
    lab = ROOT / "inventory" / "lab"
    hosts = yaml.safe_load((lab / "hosts.yml").read_text())
    balancers = hosts["all"]["children"]["loadbalancers"]["hosts"]
    for name, address in extra.items():
        balancers[name] = {"private_ip": address}
    (folder / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    group_vars = folder / "group_vars"
    group_vars.mkdir()
    for source in sorted((lab / "group_vars").glob("*.yml")):
        variables = yaml.safe_load(source.read_text()) or {}
        if "lab_pki_dir" in variables:
            # The lab's own CA signs the extra members' certificates too.
            variables["lab_pki_dir"] = str(ROOT / "inventory" / "lab-pki")
        (group_vars / source.name).write_text(yaml.safe_dump(variables, sort_keys=False))
    return folder / "hosts.yml"


def provision(inventory: Path, extra_vars: dict | None = None) -> None:
    """Run playbooks/site.yml against ``inventory``; MembersError with its tail on failure."""
    argv = [
        project_tool("ansible-playbook"), str(ROOT / "playbooks" / "site.yml"),
        "-i", str(inventory), "-e", json.dumps(extra_vars or {}),
    ]  # fmt: skip
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT_S, env=env, check=False
    )
    if result.returncode != 0:
        raise MembersError(
            f"playbooks/site.yml failed (exit {result.returncode}):\n{result.stdout[-3000:]}"
        )


@contextmanager
def inventory_with(extra: dict[str, str]) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="peerlab-bench-inventory-"))
    try:
        yield write_inventory(folder, extra)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
