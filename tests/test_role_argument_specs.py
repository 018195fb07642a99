"""The roles' argument specs agree with their defaults and document every option."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from peerlab.channels import project_tool

ROLES_DIR = Path(__file__).parents[1] / "roles"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if (p / "meta" / "argument_specs.yml").is_file())


def options(role: str) -> dict[str, dict]:
    """The options of every entry point of ``role`` (main, and restart for haproxy_peers)."""
    specs = yaml.safe_load((ROLES_DIR / role / "meta" / "argument_specs.yml").read_text())
    merged: dict[str, dict] = {}
    for entry_point in specs["argument_specs"].values():
        merged.update(entry_point.get("options", {}))
    return merged


def defaults(role: str) -> dict:
    return yaml.safe_load((ROLES_DIR / role / "defaults" / "main.yml").read_text()) or {}


def test_there_are_roles_with_specs():
    assert ROLES == ["apache_backends", "haproxy_peers", "keepalived_vip"]


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_named_for_its_role_and_described(role):
    for name, spec in options(role).items():
        assert name.startswith(f"{role}_"), name
        assert spec.get("description"), f"{name} has no description"
        for field, sub in spec.get("options", {}).items():
            assert sub.get("description"), f"{name}.{field} has no description"


@pytest.mark.parametrize("role", ROLES)
def test_a_required_option_has_no_default_anywhere(role):
    for name, spec in options(role).items():
        if spec.get("required"):
            assert "default" not in spec, name
            assert name not in defaults(role), f"{name} is required but defaults/main.yml sets it"


@pytest.mark.parametrize("role", ROLES)
def test_defaults_file_and_spec_agree(role):
    specs, values = options(role), defaults(role)
    assert set(values) <= set(specs), f"undocumented defaults: {set(values) - set(specs)}"
    for name, value in values.items():
        assert specs[name].get("default") == value, name
    for name, spec in specs.items():
        if "default" in spec:
            assert name in values, f"{name}: the spec's default is not in defaults/main.yml"


@pytest.mark.parametrize("role", ROLES)
def test_ansible_doc_renders_the_role_documentation(role):
    result = subprocess.run(
        [project_tool("ansible-doc"), "-t", "role", "-r", str(ROLES_DIR), role],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for name in options(role):
        assert name in result.stdout
