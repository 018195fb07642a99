"""The checkout builds into the collection haproxy_peers_lab.lab, offline: roles, docs, no lab."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from peerlab.channels import project_tool
from peerlab.checkout import ROOT

GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
NAME = f"{GALAXY['namespace']}.{GALAXY['name']}"
# What the lab is made of, which has no place in the collection.
LAB_PARTS = ("molecule/", "inventory/", "playbooks/", "images/", "scripts/", "src/", "tests/")


def run(*argv: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=True, env=env
    )


def tarball_names(path: Path) -> list[str]:
    with tarfile.open(path) as archive:
        return archive.getnames()


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build")
    run(project_tool("ansible-galaxy"), "collection", "build", "--output-path", str(out))
    (built,) = out.glob("*.tar.gz")
    return built


def test_the_tarball_holds_the_roles_plugin_and_docs(tarball):
    names = tarball_names(tarball)
    assert tarball.name == f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
    for expected in (
        "roles/haproxy_peers/tasks/main.yml",
        "roles/haproxy_peers/meta/argument_specs.yml",
        "roles/haproxy_peers/README.md",
        "roles/apache_backends/tasks/main.yml",
        "roles/keepalived_vip/tasks/main.yml",
        "roles/keepalived_vip/meta/argument_specs.yml",
        "roles/keepalived_vip/templates/etc/keepalived/keepalived.conf.j2",
        "roles/keepalived_vip/README.md",
        "plugins/filter/peers_tls.py",
        "plugins/modules/haproxy_peers_reload.py",
        "plugins/modules/haproxy_peers_state.py",
        "plugins/module_utils/haproxy_runtime.py",
        "roles/haproxy_peers/tasks/restart.yml",
        "meta/runtime.yml",
        "docs/collection.md",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
    ):
        assert expected in names, expected


def test_the_tarball_leaves_the_lab_out(tarball):
    names = tarball_names(tarball)
    stray = [n for n in names if n.startswith(LAB_PARTS) or "/." in f"/{n}"]
    assert stray == []


def test_the_installed_collection_documents_its_roles(tarball, tmp_path):
    collections = tmp_path / "collections"
    # Outside the checkout, without its ansible.cfg (which puts the checkout
    # itself on the collections path): only the installed copy is there.
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections)}
    env.pop("ANSIBLE_CONFIG", None)
    install = (project_tool("ansible-galaxy"), "collection", "install", "-p", str(collections))
    run(*install, str(tarball), cwd=tmp_path, env=env)
    for role in ("haproxy_peers", "apache_backends", "keepalived_vip"):
        doc = (project_tool("ansible-doc"), "-t", "role", f"{NAME}.{role}")
        result = run(*doc, cwd=tmp_path, env=env)
        assert f"{role}_" in result.stdout
        assert str(collections) in result.stdout, "documented from the installed copy"
    for module in ("haproxy_peers_reload", "haproxy_peers_state"):
        doc = (project_tool("ansible-doc"), f"{NAME}.{module}")
        result = run(*doc, cwd=tmp_path, env=env)
        assert "peers_section" in result.stdout, result.stdout[:500]
