"""What would make HAProxy refuse a new worker although ``haproxy -c`` passed.

``haproxy -c`` parses a configuration but binds nothing: a bind on a port
another program holds, or on an address the host does not have, passes the
check and then fails the new worker at reload, while the old one pauses its
listeners and retries (about 2 s of refused connections). Files the
configuration names are read when the worker loads it. This module finds
such problems beforehand, without touching HAProxy:

- every TCP bind of the frontends, listen sections and the peers section
  (the local peer's own line included) is tried the way HAProxy binds
  (SO_REUSEADDR, SO_REUSEPORT, IP_FREEBIND for ``transparent`` and
  ``freebind``); a port held by HAProxy itself is fine, a port held by
  another program is named with that program;
- every file named by ``crt``, ``ca-file``, ``crl-file``, ``crt-list``,
  ``errorfile``, ``lua-load`` and ``-f`` must exist.

Binds it cannot judge (UNIX sockets, ``fd@``, QUIC and other datagram
sockets, environment variables, network namespaces) are left to HAProxy.
Standard library only: it runs on the load balancer.
"""

from __future__ import annotations

import errno
import os
import re
import shlex
import socket

# Sections whose "bind" lines open TCP listeners.
LISTENING_SECTIONS = ("frontend", "listen", "peers")
SECTIONS = (
    *LISTENING_SECTIONS, "global", "defaults", "backend", "resolvers", "userlist", "program",
    "http-errors", "ring", "cache", "mailers", "log-forward", "crt-store", "traces",
)  # fmt: skip
# Address prefixes that are not a TCP stream socket this check can try.
UNJUDGED_PREFIXES = (
    "unix@", "abns@", "abnsz@", "fd@", "sockpair@", "quic4@", "quic6@", "udp@", "udp4@", "udp6@",
    "uxst@", "uxdg@", "rhttp@", "mptcp@", "mptcp4@", "mptcp6@",
)  # fmt: skip
FILE_KEYWORDS = {"crt", "ca-file", "crl-file", "crt-list", "ca-verify-file", "lua-load",
                 "lua-load-per-thread", "ssl-dh-param-file", "-f"}  # fmt: skip
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
HAPROXY = "haproxy"


class Bind:
    """One address of a bind line: where it is, what it says."""

    def __init__(self, line_number, section, text, family, host, ports, options):
        self.line_number, self.section, self.text = line_number, section, text
        self.family, self.host, self.ports, self.options = family, host, ports, options

    def where(self):
        return f"line {self.line_number} ({self.section}: {self.text})"


def _words(line):
    """The words of a configuration line, without its comment."""
    try:
        return shlex.split(line, comments=True, posix=True)
    except ValueError:
        return line.split("#", 1)[0].split()


def parse_address(spec):
    """(family, host, [ports]) of a TCP bind address, or None when it is not one to try.

    HAProxy's forms: "*:80", ":80", "1.2.3.4:80", "ipv4@...", "ipv6@...",
    ":::80", "[::1]:80", a port range "80-81".
    """
    if "$" in spec or spec.startswith("/") or spec.startswith(UNJUDGED_PREFIXES):
        return None
    family = None
    prefixes = (
        ("ipv4@", socket.AF_INET), ("ipv6@", socket.AF_INET6), ("tcp@", None),
        ("tcp4@", socket.AF_INET), ("tcp6@", socket.AF_INET6),
    )  # fmt: skip
    for prefix, forced in prefixes:
        if spec.startswith(prefix):
            spec, family = spec[len(prefix) :], forced
            break
    host, colon, port = spec.rpartition(":")
    if not colon or not re.fullmatch(r"\d+(-\d+)?", port):
        return None
    first, _dash, last = port.partition("-")
    ports = list(range(int(first), int(last or first) + 1))
    host = host.strip("[]")
    if host in ("", "*"):
        host = "::" if family == socket.AF_INET6 else "0.0.0.0"
    if family is None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, host, ports


def _global_setting(lines, keyword):
    for words in (_words(line) for line in lines):
        if words and words[0] == keyword:
            return words[1:]
    return None


def binds(text):
    """The TCP bind addresses a configuration's new worker opens."""
    lines = text.splitlines()
    localpeer = (_global_setting(lines, "localpeer") or [socket.gethostname()])[0]
    found, section = [], None
    for number, line in enumerate(lines, 1):
        words = _words(line)
        if not words:
            continue
        if not line[:1].isspace() and words[0] in SECTIONS:
            section = " ".join(words[:2])
            continue
        if section is None or section.split()[0] not in LISTENING_SECTIONS:
            continue
        kind = section.split()[0]
        if words[0] == "bind" and len(words) > 1:
            addresses, options = words[1], words[2:]
        elif kind == "peers" and words[0] in ("peer", "server") and len(words) > 2:
            # The local peer's line is where this member listens for the others.
            if words[1] != localpeer:
                continue
            addresses, options = words[2], words[3:]
        else:
            continue
        if "namespace" in options:
            continue
        for spec in addresses.split(","):
            parsed = parse_address(spec)
            if parsed:
                found.append(Bind(number, section, line.strip(), *parsed, options))
    return found


def files(text):
    """(line number, path) of every file the configuration names."""
    found = []
    bases = {"crt": "", "ca-file": "", "crl-file": "", "crt-list": "", "ca-verify-file": ""}
    for number, line in enumerate(text.splitlines(), 1):
        words = _words(line)
        if words[:1] == ["crt-base"] and len(words) > 1:
            bases["crt"] = bases["crt-list"] = words[1]
        elif words[:1] == ["ca-base"] and len(words) > 1:
            bases["ca-file"] = bases["crl-file"] = bases["ca-verify-file"] = words[1]
        for index, word in enumerate(words[:-1]):
            if word in FILE_KEYWORDS or (word == "errorfile" and index + 2 < len(words)):
                path = words[index + 2] if word == "errorfile" else words[index + 1]
                if "$" in path:
                    continue
                if not path.startswith("/") and bases.get(word):
                    path = os.path.join(bases[word], path)
                found.append((number, path))
    return found


def _listeners(port):
    """Inodes of the TCP sockets listening on ``port`` (any address)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def holders(port):
    """{pid: program name} of the processes listening on TCP ``port``."""
    inodes, found = _listeners(port), {}
    if not inodes:
        return found
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            sockets = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
            if any(f"socket:[{inode}]" in sockets for inode in inodes):
                with open(f"/proc/{pid}/comm") as handle:
                    found[int(pid)] = handle.read().strip()
        except OSError:
            continue
    return found


def try_bind(bind, port, reuseport=True):
    """None if HAProxy could bind ``port`` of ``bind``, else why not."""
    sock = socket.socket(bind.family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuseport and hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if {"transparent", "freebind"} & set(bind.options):
            level = socket.IPPROTO_IPV6 if bind.family == socket.AF_INET6 else socket.IPPROTO_IP
            sock.setsockopt(level, IP_FREEBIND, 1)
        if bind.family == socket.AF_INET6 and "v6only" in bind.options:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((bind.host, port))
    except OSError as error:
        return error
    finally:
        sock.close()
    return None


def bind_problems(text):
    """Messages about the binds a new worker of configuration ``text`` could not open."""
    reuseport = _global_setting(text.splitlines(), "noreuseport") is None
    problems = []
    for bind in binds(text):
        for port in bind.ports:
            error = try_bind(bind, port, reuseport)
            if error is None:
                continue
            if error.errno == errno.EADDRINUSE:
                held = holders(port)
                others = {pid: name for pid, name in held.items() if name != HAPROXY}
                if held and not others:
                    continue
                who = (
                    ", ".join(f"{name} (pid {pid})" for pid, name in sorted(others.items()))
                    or "another socket"
                )
                problems.append(
                    f"port {port} is already in use by {who}: HAProxy could not bind "
                    f"{bind.host}:{port} of {bind.where()}. Free the port or bind another one."
                )
            elif error.errno == errno.EADDRNOTAVAIL:
                problems.append(
                    f"address {bind.host} is not on this host: HAProxy could not bind "
                    f"{bind.host}:{port} of {bind.where()}. Bind an address of the host, or "
                    "add 'transparent' (or 'freebind') to the bind for an address that comes later."
                )
            else:
                problems.append(
                    f"HAProxy could not bind {bind.host}:{port} of {bind.where()}: {error}"
                )
    return problems


def file_problems(text):
    """Messages about the files configuration ``text`` names that cannot be read."""
    problems = []
    for number, path in files(text):
        if not os.path.exists(path):
            problems.append(f"line {number} names {path}, which does not exist")
        elif not os.access(path, os.R_OK):
            problems.append(f"line {number} names {path}, which cannot be read")
    return problems


def problems(path):
    """Everything in configuration file ``path`` that would make HAProxy refuse a new worker."""
    with open(path) as handle:
        text = handle.read()
    return bind_problems(text) + file_problems(text)
