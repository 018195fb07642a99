"""Files of the checkout peerlab runs from: the lab's defaults, the roles' defaults.

peerlab is installed from the checkout (editable), so these files are read
where they are written, never copied into Python constants.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def lab_defaults(root: Path = ROOT) -> dict[str, str]:
    """The ``KEY=value`` lines of the lab's ``lab.env``: its Debian release, provider, ..."""
    settings = {}
    for line in (root / "lab.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings


@cache
def role_defaults(role: str, root: Path = ROOT) -> dict:
    """A role's ``defaults/main.yml``: what the role calls things unless told otherwise."""
    return yaml.safe_load((root / "roles" / role / "defaults" / "main.yml").read_text()) or {}
