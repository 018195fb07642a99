"""What ansible-playbook's default output says at its end: the PLAY RECAP."""

from __future__ import annotations

import re

_RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s.*\bfailed=(?P<failed>\d+)"
)


def play_recap(output: str) -> dict[str, tuple[int, int]]:
    """Host -> (changed, failed), from the last PLAY RECAP of ansible-playbook's ``output``."""
    recap = {}
    for line in output[output.rfind("PLAY RECAP") :].splitlines():
        match = _RECAP.match(line)
        if match:
            recap[match["host"]] = (int(match["changed"]), int(match["failed"]))
    return recap


def changes_by_host(output: str) -> dict[str, int]:
    """Host -> how many tasks changed something, from the PLAY RECAP of ``output``."""
    return {host: changed for host, (changed, _) in play_recap(output).items()}
