"""The lab as a user gets it: `make lab`, the narrative with requests to the
forwarded ports on localhost, step 6 through `vagrant ssh`, `make lab-down`.
PROVIDER (docker by default, or libvirt) picks the Vagrant provider.

The tests of this module run in order and build on each other. They need a
machine where `make lab` works (the build machine; CI), and destroy any lab
of this checkout first, because the narrative needs a fresh one.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from peerlab.inventory import lab_load_balancers
from peerlab.lab import wait_all_synced, wait_reloaded
from peerlab.narrative import NARRATIVE, run_step, step
from peerlab.runtime import show_proc

ROOT = Path(__file__).parents[2]
PROVIDER = os.environ.get("PROVIDER", "docker")
LAB_MACHINES = ("web", "haproxy-1", "haproxy-2")
SETTLE_TIMEOUT_S = 120.0
LAB_NETWORK = "vagrant_network_192.168.56.0/24"


def make(target: str) -> float:
    """Run a make target of the project; return its wall time in seconds."""
    started = time.monotonic()
    subprocess.run(["make", "--no-print-directory", target], cwd=ROOT, check=True, timeout=1800)
    return time.monotonic() - started


def vagrant_ssh(machine: str, command: str) -> None:
    subprocess.run(["vagrant", "ssh", machine, "-c", command], cwd=ROOT, check=True, timeout=120)


@pytest.fixture(scope="module")
def lbs():
    make("lab-down")
    elapsed = make("lab")
    print(f"\nmake lab (PROVIDER={PROVIDER}): {elapsed:.0f} s")
    balancers = lab_load_balancers(ROOT / "inventory" / "lab" / "hosts.yml")
    wait_all_synced(balancers, timeout=SETTLE_TIMEOUT_S)
    return balancers


@pytest.mark.parametrize("number", [s.number for s in NARRATIVE if not s.before])
def test_narrative_step_via_localhost(lbs, number):
    assert run_step(lbs, number) == step(number).expected()


def test_step6_stop_lb2_reload_lb1_same_answers(lbs):
    lb1 = lbs[0]
    reloads = show_proc(lb1.run).reloads
    vagrant_ssh("haproxy-2", "sudo systemctl stop haproxy")
    vagrant_ssh("haproxy-1", "sudo systemctl reload haproxy")
    wait_reloaded(lb1, reloads, timeout=SETTLE_TIMEOUT_S)
    assert run_step(lbs, 6) == step(6).expected()


def output(*argv: str) -> list[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()


def libvirt_leftovers() -> list[str]:
    """Lab domains, and networks on the lab's subnet, that libvirt still has."""
    virsh = ("virsh", "-c", "qemu:///system")
    suffixes = tuple(f"_{machine}" for machine in LAB_MACHINES)
    domains = [d for d in output(*virsh, "list", "--all", "--name") if d.endswith(suffixes)]
    networks = [
        net
        for net in output(*virsh, "net-list", "--all", "--name")
        if "192.168.56." in " ".join(output(*virsh, "net-dumpxml", net))
    ]
    return domains + networks


def docker_leftovers() -> list[str]:
    """Lab containers, and the lab's network, that docker still has."""
    containers = output("docker", "ps", "-aq", "--filter", "label=io.haproxy-peers-lab.lab")
    networks = output("docker", "network", "ls", "--format", "{{.Name}}")
    return containers + [n for n in networks if n == LAB_NETWORK]


def test_lab_down_leaves_nothing_behind(lbs):
    make("lab-down")
    leftovers = libvirt_leftovers() if PROVIDER == "libvirt" else docker_leftovers()
    assert leftovers == []
