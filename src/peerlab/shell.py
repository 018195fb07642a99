"""One long-lived shell on a machine that runs commands one after another.

Starting a command on a container (``docker exec``) or over SSH costs far more
than the command: a ``docker exec`` about 0.09 s of the build machine's CPU
(client, engine and runtime), an SSH session a login and ``sudo`` on the
machine, which on an emulated VM is most of a second of its CPU. The tests'
waits read the runtime API several times a second; a shell started once per
machine and fed one command at a time takes those costs once.

Each command runs as ``sh -c COMMAND`` with no input, its output and errors
in files of the shell's own; the shell then prints a marker line with the
exit status and both files base64-encoded on one line each, so that no
output of the command can be taken for the end of its answer.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import selectors
import shlex
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from peerlab.runtime import RemoteCommandError, Runner

ANSWER_TIMEOUT_S = 70.0

# The shell's own set-up: two files for a command's output and errors, gone
# when the shell ends.
_PRELUDE = 'o=$(mktemp) && e=$(mktemp) && trap \'rm -f "$o" "$e"\' EXIT || exit 1\n'


@dataclass(frozen=True)
class Answer:
    status: int
    stdout: str
    stderr: str


class ShellSession:
    """``argv`` (for example ``docker exec -i NAME sh``) started once, and again
    when it has ended; ``run()`` sends it one command at a time.

    A shell that ended, or gave no answer within ``timeout`` seconds (it is
    stopped then), raises RemoteCommandError, as a failed ``docker exec``
    or SSH command does; the next call starts a new one.
    """

    def __init__(self, argv: Sequence[str], target: str, timeout: float = ANSWER_TIMEOUT_S):
        self.argv, self.target, self.timeout = list(argv), target, timeout
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._buffer = b""
        self._marker = ""
        self._errors: IO[bytes] | None = None

    def run(self, command: str) -> Answer:
        with self._lock:
            process, fresh = self._started()
            script = (
                f'sh -c {shlex.quote(command)} </dev/null >"$o" 2>"$e"; '
                f'echo "{self._marker} $?"; base64 -w0 "$o"; echo; base64 -w0 "$e"; echo\n'
            )
            assert process.stdin is not None
            try:
                process.stdin.write(((_PRELUDE if fresh else "") + script).encode())
                process.stdin.flush()
            except OSError as error:
                raise self._ended(process) from error
            deadline = time.monotonic() + self.timeout
            line = self._line(deadline)
            while not line.startswith(self._marker + " "):
                # Nothing else should come before the marker; what does (a
                # login banner) is not the command's.
                line = self._line(deadline)
            status = int(line.split()[1])
            stdout, stderr = (base64.b64decode(self._line(deadline)) for _ in range(2))
            return Answer(status, stdout.decode(errors="replace"), stderr.decode(errors="replace"))

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _started(self) -> tuple[subprocess.Popen, bool]:
        """The running shell, and whether it was started just now."""
        if self._process is not None and self._process.poll() is None:
            return self._process, False
        self._stop()
        self._marker = f"__peerlab_{secrets.token_hex(8)}__"
        self._buffer = b""
        # What the shell's own command says when it fails (ssh's or docker's
        # reason), for the error that reports it.
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _stop()
        self._process = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
        )
        return self._process, True

    def _line(self, deadline: float) -> str:
        """The next line of the shell's output, without its end."""
        process = self._process
        assert process is not None
        assert process.stdout is not None
        fd = process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self._stop()
                    raise RemoteCommandError(f"{self.target}: no answer within {self.timeout:g}s")
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise self._ended(process)
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode(errors="replace")

    def _ended(self, process: subprocess.Popen) -> RemoteCommandError:
        status = process.wait()
        said = ""
        if self._errors is not None:
            self._errors.seek(0)
            said = self._errors.read()[-500:].decode(errors="replace").strip()
        self._stop()
        return RemoteCommandError(
            f"{self.target}: the shell ended (exit {status}): {said or 'is the machine running?'}"
        )

    def _stop(self) -> None:
        if self._errors is not None:
            self._errors.close()
            self._errors = None
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def session_runner(session: ShellSession) -> Runner:
    """A Runner (stdout of each command; RemoteCommandError when it fails) on ``session``."""

    def run(command: str) -> str:
        answer = session.run(command)
        if answer.status != 0:
            raise RemoteCommandError(
                f"{session.target}: `{command}` exited {answer.status}: {answer.stderr.strip()}"
            )
        return answer.stdout

    return run
