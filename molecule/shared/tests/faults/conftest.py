"""Fixtures of the fault matrix: one converged lab, faults in a fixed order.

The files run in name order (test_1_... to test_7_...); the last one empties
both tables on purpose. Each test records what it measured; the figures are
printed at the end of the run, beside pass and fail.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from peerlab.channels import within
from peerlab.lab import LoadBalancer, wait_all_synced

FIGURES: dict[str, object] = {}
# How long the pair may take to settle before a fault, or after one.
SETTLE_TIMEOUT_S = 120.0


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("fault matrix: measured")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture
def figures() -> dict[str, object]:
    return FIGURES


@pytest.fixture
def settled(lbs: list[LoadBalancer]) -> list[LoadBalancer]:
    """The pair connected and resynced before a fault is injected."""
    wait_all_synced(lbs, timeout=SETTLE_TIMEOUT_S)
    return lbs


@pytest.fixture(scope="session")
def web(web_hosts):
    """Runs commands as root on the (only) web host."""
    (target,) = web_hosts

    def run(command: str) -> str:
        with target.sudo():
            return target.check_output(within(command))

    return run


@pytest.fixture(scope="session")
def rolling_restart(ansible_playbook) -> Callable[..., subprocess.CompletedProcess]:
    """Run playbooks/rolling_restart.yml with ansible-playbook's ``options``."""
    return lambda *options: ansible_playbook("rolling_restart.yml", *options)
