"""The services a load balancer serves, checked and completed on the controller.

The haproxy_peers role renders one frontend and one backend (with its stick
table) per service. A service comes from two places: today's single-service
variables (haproxy_peers_servers and the frontend, backend and stick table
variables), which make the first service when haproxy_peers_servers is set,
and the list haproxy_peers_services. Every problem is named by its service and
field before any task changes the host, and what the template needs is worked
out here once: the stick table's key type and the samples that read the key,
the HTTPS certificate's file, the rate limit's table.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

DOCUMENTATION = """
name: haproxy_peers_services
short_description: Check the services of the haproxy_peers role and complete them for its template
description:
  - Takes the list C(haproxy_peers_services) and the single service of today's
    variables (C(legacy), used when its C(enabled) is true) and returns
    C(problems) (messages naming the service and the field to fix) and
    C(services), each completed with what the role's template renders, and
    C(certificates), the PEM text each HTTPS service's file receives.
positional: legacy, settings
options:
  _input:
    description: The list C(haproxy_peers_services).
    type: list
    elements: dict
    required: true
  legacy:
    description:
      - The single service of today's variables, C(enabled) when
        C(haproxy_peers_servers) is set; keys C(frontend), C(bind), C(backend),
        C(balance), C(servers), C(server_options), C(cookie), C(len), C(size),
        C(expire), C(frontend_extra), C(backend_extra).
    type: dict
    required: true
  settings:
    description:
      - C(peers) (the peers section's name), C(cert_dir) (where HTTPS
        certificates go on the load balancer), C(files) (the controller's text
        of each C(tls_cert_src) and C(tls_key_src) given, by path).
    type: dict
    required: true
"""

RETURN = """
_value:
  description: "{problems: [str], services: [dict], certificates: [{service, file, pem}]}"
  type: dict
"""

STICK_KINDS = ("cookie", "source", "header")
BALANCES = ("roundrobin", "static-rr", "leastconn", "first", "random", "hash")
NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")
HEADER = re.compile(r"^[A-Za-z0-9-]+$")
DURATION = re.compile(r"^\d+(us|ms|s|m|h|d)?$")
SIZE = re.compile(r"^\d+[kmg]?$")
# The key length of a string table: HAProxy's default, enough for an MD5 hex.
STRING_KEY_LEN = 32


def _field(service: str, field: str) -> str:
    return f"haproxy_peers_services[{service}].{field}"


def _stick(name: str, stick: dict, problems: list[str]) -> dict:
    """The stick table and the samples that read its key, from a service's ``stick``."""
    kind = stick.get("kind") or "cookie"
    where = _field(name, "stick")
    if kind not in STICK_KINDS:
        problems.append(
            f"{where}.kind is {kind!r}, which is no stickiness kind: use cookie (the "
            "session cookie, learnt from request and response), source (the client's "
            "address) or header (a request header)."
        )
        return {}
    for setting in ("size", "expire"):
        value = str(stick.get(setting) or "")
        pattern = SIZE if setting == "size" else DURATION
        if value and not pattern.match(value):
            what = "a size such as 100k or 1m" if setting == "size" else "a duration such as 30m"
            problems.append(f"{where}.{setting} is {value!r}: give {what}.")
    table = {
        "kind": kind,
        "len": int(stick.get("len") or STRING_KEY_LEN),
        "size": str(stick.get("size") or "1m"),
        "expire": str(stick.get("expire") or "30m"),
    }
    if kind == "cookie":
        cookie = stick.get("cookie") or "JSESSIONID"
        if not HEADER.match(cookie):
            problems.append(f"{where}.cookie is {cookie!r}: letters, digits and dashes only.")
        return table | {
            "type": "string",
            "request": f"req.cook({cookie})",
            "response": f"res.cook({cookie})",
        }
    if kind == "header":
        header = stick.get("header") or ""
        if not HEADER.match(header):
            problems.append(
                f"{where}.header is {header!r}: stickiness on a header needs the header's "
                "name (letters, digits and dashes), for example X-Client-Id."
            )
        return table | {"type": "string", "request": f"req.hdr({header})", "response": ""}
    # The client's address. type ip holds IPv4 keys, which is what the lab
    # and most load balancers behind one network see.
    return table | {"type": "ip", "request": "src", "response": ""}


def _rate_limit(name: str, limit: dict, peers: str, problems: list[str]) -> dict:
    """The replicated counter table and the limit of a service's ``rate_limit``."""
    if not limit:
        return {}
    where = _field(name, "rate_limit")
    requests, period = limit.get("requests"), str(limit.get("period") or "")
    if isinstance(requests, str) and requests.strip().isdigit():
        requests = int(requests)
    if not period:
        problems.append(
            f"{where} has no period: give the period the requests are counted over, "
            "for example period: 10s with requests: 100."
        )
    elif not DURATION.match(period):
        problems.append(f"{where}.period is {period!r}: give a duration such as 10s or 1m.")
    if not isinstance(requests, int) or isinstance(requests, bool) or requests < 1:
        problems.append(
            f"{where}.requests is {requests!r}: give the number of requests a client "
            "may make in the period (1 or more)."
        )
    status = limit.get("status") or 429
    table = f"rl-{name}"
    return {
        "table": table,
        # Tables of a peers section are named after it.
        "reference": f"{peers}/{table}",
        "requests": requests,
        "period": period,
        "status": status,
        "size": str(limit.get("size") or "100k"),
        # An entry outlives its last request by the period: a client that
        # comes back within it still finds its count.
        "expire": period,
    }


def _certificate(name: str, service: dict, files: dict, problems: list[str]) -> str:
    """The certificate and key of an HTTPS service as one PEM text, or ''."""
    where = _field(name, "tls_cert")
    texts = {}
    earlier = len(problems)
    for item in ("cert", "key"):
        content, src = service.get(f"tls_{item}") or "", service.get(f"tls_{item}_src") or ""
        if content and src:
            problems.append(
                f"{_field(name, f'tls_{item}')} and {_field(name, f'tls_{item}_src')} are "
                "both set: give it once."
            )
        elif src and not (files.get(src) or "").strip():
            problems.append(
                f"{_field(name, f'tls_{item}_src')} is {src!r}, which is not a readable, "
                "non-empty file on the controller."
            )
        texts[item] = content or files.get(src) or ""
    if not texts["cert"].strip() or not texts["key"].strip():
        # Unless a file or a field above already said what is missing.
        if len(problems) == earlier:
            problems.append(
                f"{_field(name, 'binds')} has an HTTPS bind (tls: true) but the service has "
                f"no certificate and key: set {where} or {where}_src, and "
                f"{_field(name, 'tls_key')} or {_field(name, 'tls_key_src')}."
            )
        return ""
    try:
        _check_certificate(name, texts["cert"], texts["key"], problems)
    except ImportError:
        problems.append(
            "The controller's Python lacks the 'cryptography' package, which the role "
            "needs to check HTTPS certificates: install it where ansible-playbook runs."
        )
    return texts["cert"].strip() + "\n" + texts["key"].strip() + "\n"


def _check_certificate(name: str, cert_pem: str, key_pem: str, problems: list[str]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    where = _field(name, "tls_cert")
    try:
        leaf = x509.load_pem_x509_certificates(cert_pem.encode())[0]
    except ValueError:
        problems.append(f"{where} holds no PEM certificate.")
        return
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (TypeError, ValueError):
        problems.append(
            f"{_field(name, 'tls_key')} is not an unencrypted PEM private key (HAProxy "
            "reads it at every reload and cannot ask for a passphrase)."
        )
        return
    der, info = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(der, info) != leaf.public_key().public_bytes(der, info):
        problems.append(
            f"{_field(name, 'tls_key')} is not the key of the certificate in {where} "
            f"({leaf.subject.rfc4514_string()}): give the two that belong together."
        )
    now = datetime.now(UTC)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        problems.append(
            f"The certificate in {where} ({leaf.subject.rfc4514_string()}) is valid from "
            f"{leaf.not_valid_before_utc:%Y-%m-%d} to {leaf.not_valid_after_utc:%Y-%m-%d}, "
            "not now: issue a current one."
        )


def _servers(name: str, servers: list, where: str, problems: list[str]) -> list[dict]:
    if not servers:
        problems.append(f"{where} is empty; list at least one server (name, address, port).")
        return []
    names = [str(server.get("name") or "") for server in servers]
    bad = [n for n in names if not NAME.match(n)]
    if bad:
        problems.append(
            f"{where} has names HAProxy does not accept: {bad}; use letters, digits, "
            "'-', '_', '.' and ':' only."
        )
    if len(set(names)) != len(names):
        problems.append(
            f"{where} names a server more than once (replicated entries refer to servers "
            f"by name); got {names}."
        )
    return servers


def _service(service: dict, settings: dict, problems: list[str]) -> dict:
    name = str(service.get("name") or "")
    if not NAME.match(name):
        problems.append(
            f"haproxy_peers_services has a service named {name!r}: give each service a "
            "name of letters, digits, '-', '_', '.' and ':' (its frontend is "
            "front-<name>, its backend and stick table back-<name>)."
        )
        name = name or "?"
    binds = [
        {"address": str(bind.get("address") or ""), "tls": bool(bind.get("tls"))}
        for bind in service.get("binds") or []
    ]
    if not binds or not all(bind["address"] for bind in binds):
        problems.append(
            f"{_field(name, 'binds')} needs at least one bind, each with its address "
            "(HAProxy's bind syntax, such as '*:80'), and tls: true for HTTPS."
        )
    https = any(bind["tls"] for bind in binds)
    # The redirect names the first HTTPS bind's port unless it is 443.
    https_ports = [b["address"].rsplit(":", 1)[-1] for b in binds if b["tls"]]
    redirect = bool(service.get("redirect_to_https"))
    if redirect and not https:
        problems.append(
            f"{_field(name, 'redirect_to_https')} is true but the service has no HTTPS "
            "bind to redirect to: add a bind with tls: true, or drop the redirect."
        )
    balance = service.get("balance") or "roundrobin"
    if balance not in BALANCES:
        problems.append(
            f"{_field(name, 'balance')} is {balance!r}: use one of {', '.join(BALANCES)}."
        )
    files = settings.get("files") or {}
    certificate = _certificate(name, service, files, problems) if https else ""
    limit = _rate_limit(name, service.get("rate_limit") or {}, settings["peers"], problems)
    return {
        "name": name,
        # Named as the single service's are (front-session, back-session):
        # HAProxy 3.2 warns about a frontend and a backend of one name, and
        # 3.3 refuses them.
        "frontend": f"front-{name}",
        "backend": f"back-{name}",
        "binds": binds,
        "certificate": certificate,
        "crt_file": f"{settings['cert_dir']}/{name}.pem" if https else "",
        "redirect_to_https": redirect,
        "https_port": https_ports[0] if https_ports else "",
        "balance": balance,
        "servers": _servers(name, service.get("servers") or [], _field(name, "servers"), problems),
        "server_options": service.get("server_options", "check"),
        "stick": _stick(name, service.get("stick") or {}, problems),
        "rate_limit": limit,
        "frontend_extra": list(service.get("frontend_extra") or []),
        "backend_extra": list(service.get("backend_extra") or []),
        "legacy": False,
    }


def _legacy(legacy: dict, problems: list[str]) -> dict:
    """The service of today's variables, rendered as the role always rendered it."""
    servers = _servers(
        legacy["backend"], legacy.get("servers") or [], "haproxy_peers_servers", problems
    )
    cookie = legacy.get("cookie") or "JSESSIONID"
    return {
        "name": legacy["backend"],
        "frontend": legacy["frontend"],
        "backend": legacy["backend"],
        "binds": [{"address": legacy["bind"], "tls": False}],
        "certificate": "",
        "crt_file": "",
        "redirect_to_https": False,
        "https_port": "",
        "balance": legacy.get("balance") or "roundrobin",
        "servers": servers,
        "server_options": legacy.get("server_options", "check"),
        "stick": {
            "kind": "cookie",
            "type": "string",
            "len": legacy.get("len"),
            "size": legacy.get("size"),
            "expire": legacy.get("expire"),
            "request": f"req.cook({cookie})",
            "response": f"res.cook({cookie})",
        },
        "rate_limit": {},
        "frontend_extra": list(legacy.get("frontend_extra") or []),
        "backend_extra": list(legacy.get("backend_extra") or []),
        "legacy": True,
    }


def _label(service: dict) -> str:
    if service["legacy"]:
        return "the single service of haproxy_peers_servers"
    return f"service {service['name']!r}"


def _clashes(services: list[dict], problems: list[str]) -> None:
    """Names and binds that two services would share."""
    seen: dict[str, int] = {}
    owner: dict[str, int] = {}
    for index, service in enumerate(services):
        for proxy in dict.fromkeys((service["frontend"], service["backend"])):
            other = seen.setdefault(proxy, index)
            if other == index:
                continue
            if not services[other]["legacy"] and services[other]["name"] == service["name"]:
                problems.append(
                    f"haproxy_peers_services names the service {service['name']!r} more "
                    "than once: give each service a name of its own (it names its frontend, "
                    "backend and table)."
                )
            else:
                problems.append(
                    f"{_label(service).capitalize()} would be served by a proxy named "
                    f"{proxy!r}, as {_label(services[other])} is: give it another name."
                )
            break
        for bind in service["binds"]:
            other = owner.setdefault(bind["address"], index)
            if other != index:
                problems.append(
                    f"{_field(service['name'], 'binds')} has {bind['address']!r}, which "
                    f"{_label(services[other])} binds already: one address and port serve "
                    "one service; give it another port."
                )


def haproxy_peers_services(services: list, legacy: dict, settings: dict) -> dict:
    """Problems with the services, and the services completed for the template."""
    problems: list[str] = []
    completed = [_legacy(legacy, problems)] if legacy.get("enabled") else []
    completed += [_service(service or {}, settings, problems) for service in services or []]
    if not completed:
        problems.append(
            "The load balancer has no service: set haproxy_peers_servers (one service, "
            "with the frontend and backend variables) or list haproxy_peers_services."
        )
    _clashes(completed, problems)
    certificates = [
        {"service": s["name"], "file": s["crt_file"], "pem": s.pop("certificate")}
        for s in completed
    ]
    return {
        "problems": problems,
        "services": completed,
        "certificates": [c for c in certificates if c["file"]],
    }


class FilterModule:
    def filters(self):
        return {"haproxy_peers_services": haproxy_peers_services}
