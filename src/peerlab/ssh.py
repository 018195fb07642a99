"""Run commands on the lab's machines over SSH.

The runtime API socket of HAProxy is local to each load balancer and has no
authentication, so it is not exposed on the network: peerlab reaches it by
running socat on the load balancer over SSH, as root through sudo, with the
same key and user Ansible uses for the lab.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from peerlab.runtime import Runner

SSH_TIMEOUT_S = 30
SSH_OPTIONS = (
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=10",
)  # fmt: skip


class RemoteCommandError(RuntimeError):
    """A command on a lab machine failed, or the machine could not be reached."""


def vagrant_insecure_key() -> Path:
    """The key the lab's machines accept (Vagrant's insecure key, never replaced)."""
    home = os.environ.get("VAGRANT_HOME") or str(Path.home() / ".vagrant.d")
    return Path(home) / "insecure_private_key"


def ssh_runner(address: str, user: str = "vagrant", key: Path | None = None) -> Runner:
    """A Runner that executes shell commands as root on ``address``."""
    identity = str(key or vagrant_insecure_key())

    def run(command: str) -> str:
        argv = [
            "ssh", "-i", identity, *SSH_OPTIONS, f"{user}@{address}",
            f"sudo sh -c {shlex.quote(command)}",
        ]  # fmt: skip
        try:
            result = subprocess.run(
                argv, capture_output=True, text=True, timeout=SSH_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as error:
            raise RemoteCommandError(f"{address}: no answer within {SSH_TIMEOUT_S}s") from error
        if result.returncode != 0:
            raise RemoteCommandError(
                f"{address}: `{command}` exited {result.returncode}: {result.stderr.strip()}"
            )
        return result.stdout

    return run
