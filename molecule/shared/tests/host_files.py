"""Checksums of the files a role writes, read on the lab's machines: a change the
roles refuse must leave them as they were."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from peerlab.channels import within


def file_checksums(hosts: Sequence, files: Callable[[object], list[str]]) -> list[str]:
    """``sha256sum`` of ``files(host)`` on each of the testinfra ``hosts``, one command
    per host: on emulated VMs each command costs seconds."""
    result = []
    for host in hosts:
        with host.sudo():
            result.append(host.check_output(within("sha256sum " + " ".join(files(host)))))
    return result
