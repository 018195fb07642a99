"""Run commands as root on a load balancer: over SSH, or through Ansible.

HAProxy's runtime API socket is local to each load balancer and has no
authentication (admin level), so it is never exposed on the network. peerlab
reaches it the way an operator does: by running ``socat`` on the load
balancer itself, over a channel that already authenticates the caller.

- ``ssh``: plain SSH with a key, then sudo. Fast (one connection per
  machine, and on it one root shell that runs the commands one after
  another); what the lab uses by default, with Vagrant's user and key.
- ``ansible``: an ad-hoc Ansible command against an inventory. Slower (one
  Ansible run per command) but reaches whatever Ansible reaches: containers
  through the docker connection, bastions, vaulted credentials.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from peerlab.runtime import RemoteCommandError, Runner
from peerlab.shell import ShellSession, session_runner

COMMAND_TIMEOUT_S = 60
CHANNELS = ("ssh", "ansible")
CHANNEL_HELP = (
    "how to run commands on the load balancers: ssh (user and address from the "
    "inventory, sudo) or ansible (an ad-hoc Ansible command; any connection Ansible has)"
)
SSH_OPTIONS = (
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=10",
)  # fmt: skip


def within(command: str, seconds: int = COMMAND_TIMEOUT_S) -> str:
    """``command`` as a shell command that the machine running it stops after ``seconds``.

    For channels that have no deadline of their own (testinfra's).
    """
    return f"timeout {seconds} sh -c {shlex.quote(command)}"


def vagrant_insecure_key() -> Path:
    """The key the lab's machines accept (Vagrant's insecure key, never replaced)."""
    home = os.environ.get("VAGRANT_HOME") or str(Path.home() / ".vagrant.d")
    return Path(home) / "insecure_private_key"


def _run_with_deadline(
    argv: list[str], target: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    try:
        # A stdin of its own: ssh makes its stdin non-blocking and, when its
        # shared connection breaks, can exit without restoring it; on an
        # inherited stdin every later Ansible command of the caller then
        # refuses to start ("Ansible requires blocking IO").
        return subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise RemoteCommandError(f"{target}: no answer within {COMMAND_TIMEOUT_S}s") from error


# How long an idle shared SSH connection stays open after its last command.
SSH_PERSIST = "60s"
# The longest path a Unix socket can have (sun_path, less its final NUL).
UNIX_SOCKET_PATH_MAX = 107


def control_path_fits(folder: Path) -> bool:
    """Whether SSH's control sockets fit in ``folder``: ssh makes each as
    <folder>/<%C>.<16 characters> first, and %C is 40 characters."""
    return len(f"{folder}/") + 40 + 17 <= UNIX_SOCKET_PATH_MAX


def sharing_options(folder: Path) -> tuple[str, ...]:
    """SSH options that share one connection per machine between commands (and
    between peerlab runs), its socket in ``folder``; none when ``folder`` cannot
    be made private to this user (another user's socket there could stand in
    for the machine).

    A new SSH connection costs a key exchange, a login and a session on the
    machine: on emulated VMs about a second of their CPU per command, and
    peerlab's waits send several commands a second.
    """
    if not control_path_fits(folder):
        return ()
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        status = folder.lstat()
    except OSError:
        return ()
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid():
        return ()
    if status.st_mode & 0o077:
        return ()
    return (
        *control_options(folder),
        # A machine that went away (a lab destroyed) ends its shared
        # connection within seconds, instead of holding later commands.
        "-o", "ServerAliveInterval=5",
        "-o", "ServerAliveCountMax=2",
    )  # fmt: skip


def control_options(folder: Path) -> tuple[str, ...]:
    """SSH's options for one shared connection per machine, its socket in ``folder``
    (which the caller has made private), kept ``SSH_PERSIST`` after its last use."""
    return (
        "-o", "ControlMaster=auto",
        "-o", f"ControlPersist={SSH_PERSIST}",
        # %C (a hash of host, port and user) keeps the path short enough for a
        # Unix socket.
        "-o", f"ControlPath={folder}/%C",
    )  # fmt: skip


def ssh_control_folder() -> Path:
    """Where this user's shared SSH connections live: short, as socket paths must be."""
    return Path(tempfile.gettempdir()) / f"peerlab-ssh-{os.getuid()}"


def ssh_runner(address: str, user: str = "vagrant", key: Path | None = None) -> Runner:
    """A Runner that executes shell commands as root on ``address`` over SSH: one
    root shell (``sudo`` once) on one shared connection, fed a command at a time
    (peerlab.shell), started again when it ended."""
    identity = str(key or vagrant_insecure_key())
    sharing = sharing_options(ssh_control_folder())
    argv = [
        "ssh", "-i", identity, *SSH_OPTIONS, *sharing, f"{user}@{address}", "sudo -n sh",
    ]  # fmt: skip
    # The shell's input is a pipe of its own, never the caller's (why:
    # _run_with_deadline).
    return session_runner(ShellSession(argv, address, timeout=COMMAND_TIMEOUT_S))


def project_tool(name: str) -> str:
    """A command installed beside this Python (the project's .venv), else from PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else (shutil.which(name) or name)


# What makes the `ansible` command print JSON: the json callback gives each
# task's result as it was, not reformatted.
ANSIBLE_JSON_OUTPUT = {
    "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
    "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
    "ANSIBLE_NOCOLOR": "1",
}


def ansible_runner(inventory: Path, host: str) -> Runner:
    """A Runner that executes shell commands as root on inventory host ``host``."""
    # Ansible's own strategy: one command gains nothing from Mitogen's
    # persistent Python (the project's ansible.cfg) and pays for starting it
    # (a runtime API read on a container took 5.6 s with it, 2.4 s without).
    env = {**os.environ, **ANSIBLE_JSON_OUTPUT, "ANSIBLE_STRATEGY": "linear"}

    def run(command: str) -> str:
        argv = [
            project_tool("ansible"), host, "-i", str(inventory), "--become",
            "-m", "ansible.builtin.shell", "-a", command,
        ]  # fmt: skip
        return _ansible_stdout(host, command, _run_with_deadline(argv, host, env))

    return run


def _ansible_stdout(host: str, command: str, result: subprocess.CompletedProcess) -> str:
    try:
        outcome = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"][host]
    except (ValueError, KeyError, IndexError) as error:
        raise RemoteCommandError(
            f"{host}: ansible exited {result.returncode}: {result.stderr.strip()[-500:]}"
        ) from error
    if outcome.get("unreachable") or outcome.get("failed") or outcome.get("rc", 0) != 0:
        detail = outcome.get("stderr") or outcome.get("msg") or ""
        raise RemoteCommandError(f"{host}: `{command}` failed: {str(detail).strip()}")
    return outcome.get("stdout", "")
