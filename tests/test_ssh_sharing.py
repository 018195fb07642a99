"""peerlab's SSH channel shares one connection per machine, from a folder only its user owns."""

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from peerlab.channels import control_path_fits, sharing_options, ssh_control_folder, ssh_runner
from peerlab.runtime import RemoteCommandError


def control_path(options: tuple[str, ...]) -> str:
    (path,) = [o.removeprefix("ControlPath=") for o in options if o.startswith("ControlPath=")]
    return path


@pytest.fixture
def short_tmp():
    """A folder short enough for socket paths (pytest's own are too long)."""
    folder = Path(tempfile.mkdtemp(prefix="peerlab-t-"))
    yield folder
    shutil.rmtree(folder)


def test_a_new_folder_is_made_private_and_named_in_the_options(short_tmp):
    folder = short_tmp / "ssh"
    options = sharing_options(folder)
    assert "ControlMaster=auto" in options
    assert control_path(options) == f"{folder}/%C"
    assert folder.stat().st_mode & 0o777 == 0o700


def test_a_folder_others_can_enter_gets_no_sharing(short_tmp):
    folder = short_tmp / "ssh"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    assert sharing_options(folder) == ()


def test_a_file_in_the_folders_place_gets_no_sharing(short_tmp):
    folder = short_tmp / "ssh"
    folder.write_text("")
    assert sharing_options(folder) == ()


def test_a_link_in_the_folders_place_gets_no_sharing(short_tmp):
    target = short_tmp / "elsewhere"
    target.mkdir(mode=0o700)
    (short_tmp / "ssh").symlink_to(target)
    assert sharing_options(short_tmp / "ssh") == ()


def test_the_users_folder_fits_ssh_sockets():
    folder = ssh_control_folder()
    assert re.fullmatch(rf"peerlab-ssh-{os.getuid()}", folder.name)
    assert control_path_fits(folder)


def test_a_folder_too_long_for_sockets_gets_no_sharing(tmp_path):
    folder = tmp_path / ("x" * 80)
    assert not control_path_fits(folder)
    assert sharing_options(folder) == ()
    assert not folder.exists()


def runner_over_fake_ssh(folder: Path, monkeypatch, script: str):
    """ssh_runner with a stand-in ``ssh`` (a shell script run in place of it)
    first on PATH."""
    fake_ssh = folder / "ssh"
    fake_ssh.write_text(f"#!/bin/sh\n{script}\n")
    fake_ssh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return ssh_runner("192.0.2.1", key=folder / "key")


def test_ssh_gets_a_stdin_of_its_own_not_the_callers(short_tmp, monkeypatch):
    # ssh makes its stdin non-blocking; on the caller's stdin that outlives a
    # broken ssh and stops every later Ansible command of the caller. This
    # stand-in for ssh notes what its stdin is, then serves as the machine's
    # root shell.
    seen = short_tmp / "stdin"
    read_end, write_end = os.pipe()
    saved_stdin = os.dup(0)
    os.dup2(read_end, 0)
    try:
        callers = os.readlink("/proc/self/fd/0")
        run = runner_over_fake_ssh(
            short_tmp, monkeypatch, f"readlink /proc/self/fd/0 >{seen}\nexec sh"
        )
        answers = [run("echo one"), run("echo two")]
    finally:
        os.dup2(saved_stdin, 0)
        for fd in (saved_stdin, read_end, write_end):
            os.close(fd)
    assert answers == ["one\n", "two\n"]
    stdin = seen.read_text().strip()
    assert stdin.startswith("pipe:"), stdin
    assert stdin != callers


def test_a_failed_command_names_the_machine_the_command_and_its_errors(short_tmp, monkeypatch):
    run = runner_over_fake_ssh(short_tmp, monkeypatch, "exec sh")
    with pytest.raises(RemoteCommandError, match=r"192\.0\.2\.1: `ls /none` exited 2: ls: "):
        run("ls /none")


def test_a_machine_ssh_cannot_reach_is_named_with_sshs_reason(short_tmp, monkeypatch):
    refused = "echo 'ssh: connect to host 192.0.2.1: refused' >&2\nexit 255"
    run = runner_over_fake_ssh(short_tmp, monkeypatch, refused)
    ended = r"192\.0\.2\.1: the shell ended \(exit 255\): ssh: connect to host 192\.0\.2\.1"
    with pytest.raises(RemoteCommandError, match=ended):
        run("true")
