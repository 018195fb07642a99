"""The README stays a front page and the pages stay true to the checkout: every relative link
leads to a file (and heading) that exists, every `make` target and `peerlab` command they name
is one the Makefile and the CLI have."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from peerlab.cli import parser

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
README_MAX_LINES = 250
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
ROLE_READMES = sorted((ROOT / "roles").glob("*/README.md"))

# Fences may be indented (a block inside a list item).
FENCED_BLOCK = re.compile(r"^ *```.*?^ *```", re.M | re.S)
CODE_SPAN = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.M)
# A span may wrap a line ("`make\nlab-down`"), hence \s+.
MAKE = re.compile(r"\bmake\s+([a-z][a-z-]*)")
PEERLAB = re.compile(r"\bpeerlab\s+([a-z][a-z-]*)")
NOT_LOCAL = ("http://", "https://", "mailto:")


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def prose(page: Path) -> str:
    """The page without its fenced code blocks (whose `# comments` are no headings)."""
    return FENCED_BLOCK.sub("", page.read_text())


def code(page: Path) -> list[str]:
    """The page's fenced code blocks and inline code spans."""
    text = page.read_text()
    return [*FENCED_BLOCK.findall(text), *CODE_SPAN.findall(FENCED_BLOCK.sub("", text))]


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation but '-' and '_' dropped,
    spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {github_slug(heading) for heading in HEADING.findall(prose(page))}


def broken_link(page: Path, target: str) -> str | None:
    """Why a relative link of the page leads nowhere, or None when it leads somewhere."""
    path, _, anchor = target.partition("#")
    linked = (page.parent / path).resolve() if path else page
    if not linked.exists():
        return "no such file"
    if anchor and linked.suffix == ".md" and anchor not in anchors(linked):
        return f"no heading #{anchor} in {rel(linked)}"
    return None


def named(pattern: re.Pattern[str]) -> dict[str, set[str]]:
    """Each name the pattern finds in the code of README.md and docs/, with where it is."""
    found: dict[str, set[str]] = {}
    for page in DOCS:
        for snippet in code(page):
            for name in pattern.findall(snippet):
                found.setdefault(name, set()).add(rel(page))
    return found


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))


def peerlab_commands() -> set[str]:
    (commands,) = (
        action for action in parser()._actions if isinstance(action, argparse._SubParsersAction)
    )
    return set(commands.choices)


def test_the_readme_is_a_front_page_of_at_most_250_lines():
    lines = len(README.read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move a topic into docs/"


def test_every_relative_link_leads_to_a_file_and_heading_that_exist():
    links = [
        (page, target)
        for page in [*DOCS, *ROLE_READMES]
        for target in LINK.findall(prose(page))
        if not target.startswith(NOT_LOCAL)
    ]
    assert len(links) >= 20, links
    broken = [
        f"{rel(page)}: ({target}) {why}"
        for page, target in links
        if (why := broken_link(page, target))
    ]
    assert not broken, "\n".join(broken)


def test_every_make_target_named_is_defined_in_the_makefile():
    named_targets = named(MAKE)
    assert len(named_targets) >= 10, named_targets
    unknown = {t: sorted(p) for t, p in named_targets.items() if t not in makefile_targets()}
    assert not unknown, f"make targets the Makefile does not define: {unknown}"


def test_every_peerlab_command_named_is_one_the_cli_has():
    named_commands = named(PEERLAB)
    assert len(named_commands) >= 5, named_commands
    unknown = {c: sorted(p) for c, p in named_commands.items() if c not in peerlab_commands()}
    assert not unknown, f"peerlab commands the CLI does not have: {unknown}"
