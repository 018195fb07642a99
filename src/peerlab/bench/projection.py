"""What a full mesh of peers costs at 10-50 members, on paper.

The lab measures 2, 3 and 5 members; operators ask about dozens. HAProxy's
peers form a full mesh: every member connects to every other one, and each
member sends every update of its own to each of the others. The counts below
follow from that alone; the message size is an estimate from the layout of
the peers protocol's update message, not a measurement, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from peerlab.bench.results import Document

PROJECTED_MEMBERS = (10, 20, 30, 40, 50)
# Used when the run did not record its key length: the lab's session ids are
# md5 hex strings (peerlab.sessions.session_id).
DEFAULT_KEY_BYTES = 32
# One update message besides its key, estimated: header (class, type, length
# varint) 3, update id 4, expiry 4, key length varint 1, server id and server
# key (a dictionary reference once known) about 4. TLS records and TCP/IP
# headers are not counted: several updates share them under load.
UPDATE_OVERHEAD_BYTES = 16
# The update rate the bandwidth column is quoted at.
UPDATES_PER_SECOND = 1_000


@dataclass(frozen=True)
class Mesh:
    """The full mesh of ``members`` peers, per peers section."""

    members: int
    connections: int
    copies_per_update: int
    message_bytes: int

    @property
    def bytes_per_update(self) -> int:
        """Bytes one member sends for one update of its own: one copy per other member."""
        return self.copies_per_update * self.message_bytes

    @property
    def bytes_per_second(self) -> int:
        """Whole section's traffic at ``UPDATES_PER_SECOND`` new sessions per second."""
        return UPDATES_PER_SECOND * self.bytes_per_update


def message_bytes(key_bytes: int) -> int:
    """Estimated size of one update message carrying a key of ``key_bytes``."""
    return key_bytes + UPDATE_OVERHEAD_BYTES


def mesh(members: int, key_bytes: int) -> Mesh:
    """Connections n(n-1)/2, each update sent n-1 times, (n-1) x message bytes."""
    if members < 2:
        raise ValueError(f"a peers mesh needs at least 2 members, got {members}")
    return Mesh(
        members=members,
        connections=members * (members - 1) // 2,
        copies_per_update=members - 1,
        message_bytes=message_bytes(key_bytes),
    )


def key_bytes_of(document: Document) -> tuple[int, bool]:
    """The run's key length and whether it was measured (False: the lab's default assumed)."""
    if "key_bytes" in document:
        return document["key_bytes"], True
    return DEFAULT_KEY_BYTES, False


def projection(document: Document) -> list[Mesh]:
    """The mesh at each of ``PROJECTED_MEMBERS`` for the run's key length."""
    key_bytes, _ = key_bytes_of(document)
    return [mesh(members, key_bytes) for members in PROJECTED_MEMBERS]
