"""What the Makefile computes, read from make itself."""

from __future__ import annotations

import os
import subprocess

from peerlab.checkout import ROOT


def makefile_values(names: list[str], **arguments: str) -> list[str]:
    """The values of the Makefile's variables ``names`` (one word each), with make's
    command-line ``arguments`` and without the environment's values of ``names``."""
    show = "show: ; @echo " + " ".join(f"$({name})" for name in names)
    env = {k: v for k, v in os.environ.items() if k not in names}
    result = subprocess.run(
        ["make", "-s", "--no-print-directory", f"--eval={show}", "show",
         *(f"{k}={v}" for k, v in arguments.items())],
        cwd=ROOT, capture_output=True, text=True, check=True, env=env, timeout=60,
    )  # fmt: skip
    return result.stdout.split()
