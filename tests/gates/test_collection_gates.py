"""The gates Ansible collections are held to, on the collection as it is built:
`ansible-test sanity` (every sanity test that applies to its modules, plugins
and roles) and galaxy-importer (what Galaxy runs on an uploaded collection).
`make gates` runs them with the tools of .venv-gates, after
scripts/ansible-test-offline has given ansible-test its virtual environments'
pip without a network.

Galaxy requires a `repository`, which galaxy.yml leaves to whoever publishes
the collection: the builds here name the checkout's origin (or the checkout
itself when it has none).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]
GATES = ROOT / ".venv-gates" / "bin"
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
# Sanity tests' exceptions, each with its reason; shipped beside the build.
SANITY_IGNORES = ROOT / "tests" / "sanity"
GATE_TIMEOUT_S = 900
UNDOCUMENTED = "plugins/modules/haproxy_peers_state.py"


def run(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    """``argv`` with the gates' tools first on PATH; finished, whatever its status."""
    env = {"PATH": f"{GATES}:/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home())}
    return subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=GATE_TIMEOUT_S,
        check=False,
        env=env,
    )


def repository() -> str:
    origin = subprocess.run(
        ["git", "remote", "get-url", "origin"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return origin.stdout.strip() if origin.returncode == 0 else f"file://{ROOT}"


def build(source: Path, out: Path) -> tuple[Path, Path]:
    """The collection built from ``source``: its tarball, and the tarball unpacked where
    ansible-test wants a collection (ansible_collections/<namespace>/<name>)."""
    galaxy = {**yaml.safe_load((source / "galaxy.yml").read_text()), "repository": repository()}
    (source / "galaxy.yml").write_text(yaml.safe_dump(galaxy, sort_keys=False))
    built = run(
        GATES / "ansible-galaxy", "collection", "build", "--output-path", out, ".", cwd=source
    )
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = out / f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
    unpacked = out / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    unpacked.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(unpacked, filter="data")
    shutil.copytree(SANITY_IGNORES, unpacked / "tests" / "sanity")
    return tarball, unpacked


def checkout_copy(into: Path) -> Path:
    """What the collection is built from, copied: the checkout without its hidden folders."""
    source = into / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "__pycache__", "*.egg-info"))
    return source


def sanity(unpacked: Path, *options: str) -> subprocess.CompletedProcess:
    python = run(GATES / "python", "-c", "import sys; print('%d.%d' % sys.version_info[:2])",
                 cwd=unpacked)  # fmt: skip
    version = python.stdout.strip()
    assert python.returncode == 0, python.stderr
    assert version, python.stdout
    return run(
        GATES / "ansible-test", "sanity", "--local", "--python", version, "--color", "no",
        *options, cwd=unpacked,
    )  # fmt: skip


def importer(tarball: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """galaxy-importer on ``tarball``: the finished process and the result it printed."""
    result = run(GATES / "python", "-m", "galaxy_importer.main", "--print-result", tarball,
                 cwd=tarball.parent)  # fmt: skip
    start = result.stdout.find("\n{")
    return result, json.loads(result.stdout[start:]) if start >= 0 else {}


def importer_problems(result: subprocess.CompletedProcess, printed: dict) -> list[str]:
    """What Galaxy would refuse or show wrongly: a failed import, an error the importer
    logged, a module whose documentation it could not read."""
    problems = [line for line in result.stdout.splitlines() if line.startswith("ERROR")]
    if result.returncode != 0 or not printed:
        problems.append(f"galaxy-importer exited {result.returncode}: {result.stderr[-1000:]}")
        return problems
    for content in printed["docs_blob"]["contents"]:
        if content["content_type"] == "module" and not content.get("doc_strings"):
            problems.append(f"module {content['content_name']}: no documentation")
    return problems


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> tuple[Path, Path]:
    subprocess.run([GATES / "python", ROOT / "scripts" / "ansible-test-offline"], check=True)
    out = tmp_path_factory.mktemp("gates")
    return build(checkout_copy(out), out)


def test_sanity_passes_on_the_built_collection(collection):
    result = sanity(collection[1])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    # Every test that applies ran: none skipped for want of its requirements.
    assert "validate-modules" in result.stdout, result.stdout[-2000:]
    assert "WARNING: Skipping" not in result.stdout + result.stderr


def test_galaxy_importer_accepts_it_and_reads_every_modules_documentation(collection):
    result, printed = importer(collection[0])
    assert importer_problems(result, printed) == [], result.stdout[-4000:]
    modules = [c for c in printed["docs_blob"]["contents"] if c["content_type"] == "module"]
    assert len(modules) == len(list((ROOT / "plugins" / "modules").glob("*.py")))


def test_a_module_without_its_documentation_fails_both_gates(tmp_path):
    source = checkout_copy(tmp_path)
    module = source / UNDOCUMENTED
    text = module.read_text()
    undocumented = re.sub(r'\nDOCUMENTATION = r"""\n.*?\n"""\n', "\n", text, count=1, flags=re.S)
    assert undocumented != text, f"{UNDOCUMENTED}: no DOCUMENTATION block to remove"
    module.write_text(undocumented)
    tarball, unpacked = build(source, tmp_path)

    result = sanity(unpacked, "--test", "validate-modules")
    assert result.returncode != 0
    assert f"{UNDOCUMENTED}:0:0: missing-documentation" in result.stdout + result.stderr

    result, printed = importer(tarball)
    assert importer_problems(result, printed) != [], result.stdout[-2000:]
