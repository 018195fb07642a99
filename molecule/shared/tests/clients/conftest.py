"""Fixtures of the clients stage: the application's cookie, the floating address, a browser.

One converged lab for all tests, in file order (test_1_... to test_4_...).
Each test records what it measured; the figures are printed at the end of
the run, beside pass and fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import requests
from app_clients import REQUEST_TIMEOUT_S
from testinfra.utils.ansible_runner import AnsibleRunner

from peerlab.checkout import ROOT, role_defaults
from peerlab.lab import LoadBalancer
from peerlab.narrative import SETTLE_TIMEOUT_S
from peerlab.sync import wait_until

ANSIBLE = AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
# Where the browser test leaves its screenshots: in the checkout (out of
# git), since Molecule removes its own folder when the scenario ends.
ARTEFACTS = ROOT / ".cache" / "artefacts"


@pytest.fixture(scope="session")
def vip_relay_url() -> str:
    """The web host's relay to the floating address (lab_vip_relay_port)."""
    (web,) = ANSIBLE.get_hosts("web")
    variables = ANSIBLE.get_variables(web)
    assert "lab_vip_relay_port" in variables, f"{web} has no lab_vip_relay_port"
    return f"http://{variables['private_ip']}:{variables['lab_vip_relay_port']}/"


@pytest.fixture(scope="session")
def session_cookie(lb1: LoadBalancer) -> str:
    """The cookie the application issues, which must be the one the load balancers stick on."""
    (web,) = ANSIBLE.get_hosts("web")
    issued = ANSIBLE.get_variables(web).get("apache_backends_session_cookie")
    assert issued == lb1.names.cookie, (
        f"the web tier issues {issued!r}, the load balancers stick on {lb1.names.cookie!r}: "
        "set apache_backends_session_cookie in inventory/lab/group_vars/web.yml"
    )
    return issued


@pytest.fixture(scope="session")
def stick_table_len() -> int:
    """The longest key the load balancers' stick table keeps whole."""
    default = role_defaults("haproxy_peers")["haproxy_peers_stick_table_len"]
    lengths = {
        int(ANSIBLE.get_variables(name).get("haproxy_peers_stick_table_len", default))
        for name in ANSIBLE.get_hosts("loadbalancers")
    }
    return min(lengths)


@pytest.fixture(scope="session")
def server_of() -> dict[str, str]:
    """A backend's answer ("Backend 3") -> its server's name in HAProxy ("be3")."""
    vhosts = role_defaults("apache_backends")["apache_backends_vhosts"]
    return {vhost["body"]: vhost["name"] for vhost in vhosts}


@pytest.fixture(scope="session")
def artefacts(requested_release: str) -> Path:
    """An empty folder for this run's screenshots."""
    folder = ARTEFACTS / f"clients-{requested_release}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="session")
def chromium_paths() -> tuple[str, str]:
    """Debian's chromium and chromium-driver (scripts/install-host-packages browser)."""
    paths = ("/usr/bin/chromium", "/usr/bin/chromedriver")
    missing = [path for path in paths if not os.access(path, os.X_OK)]
    assert not missing, (
        f"{missing} missing: install Debian's chromium and chromium-driver "
        "(scripts/install-host-packages browser, which make molecule-docker runs)"
    )
    return paths


@pytest.fixture
def wait_answers():
    def wait(url: str, timeout: float = SETTLE_TIMEOUT_S) -> None:
        def probe() -> tuple[bool, str]:
            try:
                return requests.get(url, timeout=REQUEST_TIMEOUT_S).ok, "answered"
            except requests.RequestException as error:
                return False, type(error).__name__

        wait_until(probe, timeout, f"{url} answers")

    return wait
