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
