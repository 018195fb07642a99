"""Fixtures of the fault matrix: one converged lab, faults in a fixed order.

The files run in name order (test_1_... to test_7_...); the last one empties
both tables on purpose. Each test records what it measured; the figures are
printed at the end of the run, beside pass and fail.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from peerlab.channels import project_tool, within
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


ROLLING_RESTART = Path(__file__).parents[4] / "playbooks" / "rolling_restart.yml"


@pytest.fixture(scope="session")
def rolling_restart() -> Callable[..., subprocess.CompletedProcess]:
    """Run playbooks/rolling_restart.yml on the scenario's load balancers, with
    ansible-playbook's ``options``."""

    def run(*options: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [project_tool("ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"],
             str(ROLLING_RESTART), *options],
            capture_output=True, text=True, timeout=900, check=False,
            env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"},
        )  # fmt: skip

    return run
