"""HAProxy processes started on this machine from a configuration text.

The unit tests run a pair of them on loopback; the lab's tests start one as
a stranger on the lab's network. Each runs in master-worker mode with its own
admin and master sockets, and offers the lab's ``Runner`` interface, so the
runtime API helpers read it like a load balancer of the lab.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from peerlab.runtime import ADMIN_SOCKET, MASTER_SOCKET, RemoteCommandError
from peerlab.sync import wait_until

START_TIMEOUT_S = 20.0
# The longest Unix socket path HAProxy binds: a socket address holds 107
# bytes, and HAProxy binds "<path>.<pid>.tmp" first ("too long (max 97)").
SOCKET_PATH_MAX = 97


def free_ports(count: int) -> list[int]:
    """Ports on 127.0.0.1 that nothing listens on right now."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class LocalHAProxy:
    """One HAProxy master with its worker, run from ``config`` in ``folder``.

    The configuration's runtime API socket must be ``self.admin``
    (``stats socket {admin} ...``): format it in with ``admin_socket(folder, name)``.
    """

    def __init__(self, folder: Path, name: str, config: str) -> None:
        self.name = name
        self.admin = admin_socket(folder, name)
        self.master = socket_path(folder, name, "master")
        self.config = folder / f"{name}.cfg"
        self.config.write_text(config)
        self.process = subprocess.Popen(
            ["haproxy", "-W", "-S", str(self.master), "-f", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def wait_started(self, timeout: float = START_TIMEOUT_S) -> None:
        """Return once the runtime API socket exists; raise if HAProxy exited instead."""
        wait_until(
            lambda: (self.admin.exists() or self.process.poll() is not None, None),
            timeout,
            f"{self.config.name} started",
        )
        if self.process.poll() is not None:
            raise RuntimeError(f"haproxy exited: {self.process.stderr.read().decode()}")

    def run(self, command: str) -> str:
        """Run a shell command here, the lab's socket paths replaced by this process's."""
        command = command.replace(ADMIN_SOCKET, str(self.admin)).replace(
            MASTER_SOCKET, str(self.master)
        )
        try:
            result = subprocess.run(
                ["sh", "-c", command], capture_output=True, text=True, check=False, timeout=10
            )
        except subprocess.TimeoutExpired as error:
            raise RemoteCommandError(f"`{command}`: no answer within 10 s") from error
        if result.returncode != 0:
            raise RemoteCommandError(
                f"`{command}` exited {result.returncode}: {result.stderr.strip()}"
            )
        return result.stdout

    def reload(self) -> None:
        os.kill(self.process.pid, signal.SIGUSR2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        # HAProxy leaves its Unix sockets behind; their folder goes with the
        # last process that used it.
        for path in (self.admin, self.master):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.admin.parent.rmdir()


def admin_socket(folder: Path, name: str) -> Path:
    """Where ``LocalHAProxy(folder, name, ...)`` expects its runtime API socket."""
    return socket_path(folder, name, "admin")


def socket_path(folder: Path, name: str, kind: str) -> Path:
    """Socket ``kind`` of the process ``name`` run from ``folder``.

    Not in ``folder`` itself, whose path may be too long for a socket
    (pytest's temporary folders, named after the test, with a lab machine's
    name after them): in a short folder of its own under the system's
    temporary folder, the same for the same ``folder``.
    """
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    sockets = Path(tempfile.gettempdir()) / f"peerlab-{digest}"
    path = sockets / f"{name}-{kind}.sock"
    if len(os.fsencode(path)) > SOCKET_PATH_MAX:
        raise ValueError(
            f"{path}: {len(os.fsencode(path))} bytes, longer than the {SOCKET_PATH_MAX} "
            f"HAProxy can bind a Unix socket at; give the process a shorter name than {name!r}"
        )
    sockets.mkdir(mode=0o700, exist_ok=True)
    return path
