"""peerlab.shell: one long-lived shell that runs commands one after another,
against a real ``sh`` on this machine (the tests' root runner opens the same
through ``docker exec -i`` or SSH)."""

from __future__ import annotations

import pytest

from peerlab.runtime import RemoteCommandError
from peerlab.shell import ShellSession, session_runner


@pytest.fixture
def shell():
    session = ShellSession(["sh"], "here", timeout=5)
    yield session
    session.close()


def test_each_answer_is_its_commands_status_output_and_errors(shell):
    answer = shell.run("echo out; echo err >&2; exit 3")
    assert (answer.status, answer.stdout, answer.stderr) == (3, "out\n", "err\n")
    # Output that ends in blank lines, or looks like the end of an answer, is kept.
    marker_like = shell.run("printf 'a\\n\\n__peerlab_0__ 0\\n'")
    assert marker_like.stdout == "a\n\n__peerlab_0__ 0\n"
    assert shell.run("true").stdout == ""


def test_commands_share_one_shell_and_read_no_input(shell):
    first = shell.run("echo $PPID").stdout
    # A command reading its input gets none, instead of the commands after it.
    assert shell.run("cat").stdout == ""
    assert shell.run("echo $PPID").stdout == first


def test_a_command_that_does_not_answer_in_time_ends_the_shell_and_the_next_starts_anew(shell):
    first = shell.run("echo $PPID").stdout
    shell.timeout = 0.5
    with pytest.raises(RemoteCommandError, match=r"here: no answer within 0\.5s"):
        shell.run("sleep 5")
    shell.timeout = 5
    assert shell.run("echo $PPID").stdout != first


def test_a_shell_that_cannot_start_raises_remote_command_error():
    session = ShellSession(["sh", "-c", "echo no such machine >&2; exit 7"], "gone", timeout=5)
    # What the shell's command said is the error's reason.
    ended = r"gone: the shell ended \(exit 7\): no such machine"
    with pytest.raises(RemoteCommandError, match=ended):
        session.run("echo never")


def test_the_runner_returns_output_and_raises_on_a_failed_command(shell):
    run = session_runner(shell)
    assert run("echo hello") == "hello\n"
    with pytest.raises(RemoteCommandError, match=r"here: `ls /nonexistent` exited 2: ls: "):
        run("ls /nonexistent")
