"""`make docs`: the collection's documentation, built by antsibull-docs from the roles'
argument specs and the modules' documentation blocks, offline, every Sphinx warning an
error. Each option a spec declares is on its page: the pages are the specs, not a copy."""

from __future__ import annotations

import ast
import html
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]
SITE = ROOT / "docs" / "site" / "build" / "html" / "collections" / "haproxy_peers_lab" / "lab"
ROLES = sorted(p.parents[1].name for p in ROOT.glob("roles/*/meta/argument_specs.yml"))
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py"))


@pytest.fixture(scope="module")
def built() -> Path:
    result = subprocess.run(
        [ROOT / "scripts" / "build-docs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return SITE


def page_text(path: Path) -> str:
    """The page's words, without its markup, one space between each."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", path.read_text())))


def role_options(role: str) -> dict[str, list[str]]:
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return {
        entry: sorted(spec.get("options", {})) for entry, spec in specs["argument_specs"].items()
    }


def module_options(module: str) -> list[str]:
    tree = ast.parse((ROOT / "plugins" / "modules" / f"{module}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "DOCUMENTATION":
            return sorted(yaml.safe_load(node.value.value).get("options", {}))
    raise AssertionError(f"{module}: no DOCUMENTATION block")


@pytest.mark.parametrize("role", ROLES)
def test_every_entry_point_and_option_of_a_roles_spec_is_on_its_page(built, role):
    page = built / f"{role}_role.html"
    assert page.is_file(), sorted(p.name for p in built.iterdir())
    text = page_text(page)
    for entry, options in role_options(role).items():
        assert f"Entry point {entry}" in text, f"{role}: entry point {entry}"
        missing = [o for o in options if o not in text]
        assert missing == [], f"{role}, entry point {entry}: options not on the page"


@pytest.mark.parametrize("module", MODULES)
def test_every_option_of_a_modules_documentation_is_on_its_page(built, module):
    page = built / f"{module}_module.html"
    assert page.is_file(), sorted(p.name for p in built.iterdir())
    text = page_text(page)
    options = module_options(module)
    assert options, f"{module}: its documentation declares no option"
    assert [o for o in options if o not in text] == []
