"""The host's side of the benchmark agent: one SSH session per load balancer that stays
open, a command per line in, an answer per line out, each with a deadline."""

from __future__ import annotations

import selectors
import shlex
import subprocess
import time
from pathlib import Path

from peerlab.bench.agent_script import SCRIPT
from peerlab.channels import SSH_OPTIONS, vagrant_insecure_key
from peerlab.lab import LoadBalancer, Names
from peerlab.runtime import ADMIN_SOCKET, MASTER_SOCKET

ANSWER_TIMEOUT_S = 30.0


class AgentError(RuntimeError):
    """The agent failed a command, did not answer in time, or cannot be trusted."""


def agent_command(
    names: Names, admin_socket: str = ADMIN_SOCKET, master_socket: str = MASTER_SOCKET
) -> list[str]:
    """The agent's command line, for HAProxy's sockets and ``names``."""
    return [
        "python3", "-u", "-c", SCRIPT,
        admin_socket, master_socket, names.table, names.section,
    ]  # fmt: skip


def over_ssh(lb: LoadBalancer, user: str = "vagrant", key: Path | None = None) -> list[str]:
    """The command that starts the agent on ``lb`` as root, over SSH."""
    remote = " ".join(shlex.quote(word) for word in ("sudo", *agent_command(lb.names)))
    return [
        "ssh", "-i", str(key or vagrant_insecure_key()), *SSH_OPTIONS,
        f"{user}@{lb.address}", remote,
    ]  # fmt: skip


class Agent:
    """The agent on one load balancer (``peerlab.bench.agent_script``), over SSH by default."""

    def __init__(self, lb: LoadBalancer, argv: list[str] | None = None) -> None:
        self.name = lb.name
        self._process = subprocess.Popen(
            argv or over_ssh(lb),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._process.stdout, selectors.EVENT_READ)
        self.expect("ready", ANSWER_TIMEOUT_S)

    def send(self, line: str) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()

    def readline(self, timeout: float = ANSWER_TIMEOUT_S) -> str:
        """The agent's next answer; AgentError on ``error ...``, silence or exit."""
        if not self._selector.select(timeout):
            raise AgentError(f"{self.name}: the agent did not answer within {timeout:g}s")
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line:
            stderr = self._process.stderr.read() if self._process.poll() is not None else ""
            raise AgentError(f"{self.name}: the agent stopped: {stderr.strip()[-300:]}")
        if line.startswith("error"):
            raise AgentError(f"{self.name}: {line}")
        return line

    def ask(self, line: str, timeout: float = ANSWER_TIMEOUT_S) -> list[str]:
        """Send one command; the words of its answer."""
        self.send(line)
        return self.readline(timeout).split()

    def expect(self, word: str, timeout: float = ANSWER_TIMEOUT_S) -> list[str]:
        answer = self.readline(timeout).split()
        if answer[0] != word:
            raise AgentError(f"{self.name}: expected {word!r}, got {' '.join(answer)!r}")
        return answer

    def check_shared_clock(self) -> None:
        """Refuse timestamps from a clock the host does not share (a VM, another machine)."""
        before = time.monotonic_ns()
        (theirs,) = self.ask("clock")[1:]
        after = time.monotonic_ns()
        if not before <= int(theirs) <= after:
            raise AgentError(
                f"{self.name}'s monotonic clock is not this machine's ({theirs} outside "
                f"{before}..{after}): replication latency needs the docker lab, run from "
                "the machine that runs its containers"
            )

    def used(self) -> int:
        return int(self.ask("used")[1])

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                self.send("quit")
                self._process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
