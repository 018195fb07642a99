"""The lab's defaults come from lab.env, wherever they are used."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from makefile_values import makefile_values

from peerlab.checkout import ROOT, lab_defaults

DEFAULTS = lab_defaults()
MOLECULE_FILES = sorted((ROOT / "molecule").glob("*/molecule.yml"))
FALLBACK = re.compile(r"\$\{(?P<name>LAB_\w+):-(?P<value>[^}]*)\}")


def test_lab_env_names_the_release_provider_and_libvirt_driver():
    assert DEFAULTS["LAB_DEBIAN"] in {"trixie", "bookworm", "forky"}
    assert DEFAULTS["LAB_PROVIDER"] in {"docker", "libvirt", "virtualbox"}
    assert DEFAULTS["LAB_LIBVIRT_DRIVER"] in {"qemu", "kvm"}


def test_the_makefile_takes_its_defaults_from_lab_env():
    expected = [DEFAULTS[k] for k in ("LAB_DEBIAN", "LAB_PROVIDER", "LAB_LIBVIRT_DRIVER")]
    assert makefile_values(["DEBIAN", "PROVIDER", "LIBVIRT_DRIVER"]) == expected


def vagrantfile_settings(env: dict[str, str]) -> list[str]:
    """What the Vagrantfile computes, loaded by Ruby with Vagrant's entry point stubbed."""
    script = (
        "module Vagrant; def self.configure(*); end; end; load 'Vagrantfile'; "
        "puts DEBIAN, DOCKER_IMAGE, BOX, LIBVIRT_DRIVER"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAB_")}
    result = subprocess.run(
        ["ruby", "-e", script], cwd=ROOT, capture_output=True, text=True,
        check=True, env={**clean, **env}, timeout=60,
    )  # fmt: skip
    return result.stdout.split()


def test_the_vagrantfile_takes_its_defaults_from_lab_env_and_the_environment_wins():
    debian, driver = DEFAULTS["LAB_DEBIAN"], DEFAULTS["LAB_LIBVIRT_DRIVER"]
    assert vagrantfile_settings({}) == [
        debian, f"haproxy-peers-lab/debian:{debian}", f"debian/{debian}64", driver,
    ]  # fmt: skip
    assert vagrantfile_settings({"LAB_DEBIAN": "bookworm", "LAB_LIBVIRT_DRIVER": "kvm"}) == [
        "bookworm", "haproxy-peers-lab/debian:bookworm", "debian/bookworm64", "kvm",
    ]  # fmt: skip


@pytest.mark.parametrize("path", MOLECULE_FILES, ids=lambda p: p.parent.name)
def test_molecule_fallbacks_are_lab_env_defaults(path: Path):
    expected = {**DEFAULTS, "LAB_BOX": f"debian/{DEFAULTS['LAB_DEBIAN']}64"}
    fallbacks = {m["name"]: m["value"] for m in FALLBACK.finditer(path.read_text())}
    for name, value in fallbacks.items():
        if name in expected:
            assert value == expected[name], f"{path}: ${{{name}:-{value}}}"


def test_the_vagrantfile_gives_net_admin_to_the_load_balancers_only():
    """The docker provider's create args per machine, loaded by Ruby as above."""
    script = (
        "module Vagrant; def self.configure(*); end; end; load 'Vagrantfile'; "
        'LAB_HOSTS.each { |h| puts "#{h[:name]}=#{docker_create_args(h).join(",")}" }'
    )
    result = subprocess.run(
        ["ruby", "-e", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    args = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert set(args) == {"web", "haproxy-1", "haproxy-2"}
    for name, joined in args.items():
        words = joined.split(",")
        caps = [words[i + 1] for i, word in enumerate(words) if word == "--cap-add"]
        assert caps == (["SYS_ADMIN"] if name == "web" else ["SYS_ADMIN", "NET_ADMIN"]), name
