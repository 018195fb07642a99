"""HAProxy processes run from a configuration text on this machine (the TLS
stage's strangers, the loopback pair of the unit tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from peerlab.local_haproxy import SOCKET_PATH_MAX, LocalHAProxy, admin_socket
from peerlab.runtime import ADMIN_SOCKET

# What the TLS stage's strangers are named after: a lab machine of the
# docker scenario, whose names carry the Debian release.
NAME = "stranger-bookworm-haproxy-2"
CONFIG = """
global
    stats socket {admin} mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
"""


def test_a_process_run_from_a_deep_folder_binds_its_sockets_and_removes_them(tmp_path: Path):
    # As deep as pytest's folder for a long test name: in it, the sockets'
    # paths would pass the 97 bytes HAProxy binds.
    folder = tmp_path / ("test_a_stranger_over_tls_learns_nothing_" * 2)
    folder.mkdir()
    assert len(bytes(folder / f"{NAME}-admin.sock")) > SOCKET_PATH_MAX
    process = LocalHAProxy(folder, NAME, CONFIG.format(admin=admin_socket(folder, NAME)))
    try:
        process.wait_started()
        assert process.run("echo 'show info' | socat stdio unix-connect:" + ADMIN_SOCKET)
        assert process.master.is_socket()
    finally:
        process.stop()
    assert not process.admin.exists()
    assert not process.master.exists()
    assert not process.admin.parent.exists()


def test_a_name_too_long_for_a_socket_is_refused_before_haproxy_starts(tmp_path: Path):
    with pytest.raises(ValueError, match=r"bytes, longer than the 97 .* shorter name than 'x{80}'"):
        admin_socket(tmp_path, "x" * 80)
