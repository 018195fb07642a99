"""Check the TLS material of one peers member on the controller, before any task runs.

HAProxy itself only finds out at run time that a member's certificate is not
trusted by the others: the link then stays down and the tables stop
replicating, without any error on the member that was changed. These checks
catch that on the controller, with messages that name the variable to fix.
"""

from __future__ import annotations

from datetime import UTC, datetime

DOCUMENTATION = """
name: haproxy_peers_tls_check
short_description: Check the CA, certificate and key of a peers member
description:
  - Takes, for each of C(ca), C(cert) and C(key), the PEM text given inline
    (C(content)), the controller path given (C(src)) and that file's text
    (C(read)); returns C(problems) (messages naming the variable to fix) and,
    when there are none, the PEM texts C(ca), C(cert) and C(key).
positional: peer
options:
  _input:
    description: "{ca: {content, src, read}, cert: {...}, key: {...}}"
    type: dict
    required: true
  peer:
    description: Peer name the certificate must carry (subjectAltName DNS or CN).
    type: str
    required: true
"""

ITEMS = ("ca", "cert", "key")
WHAT = {
    "ca": "CA certificate(s) the members' certificates are signed by",
    "cert": "this member's certificate",
    "key": "this member's private key",
}


def _var(item: str) -> str:
    return f"haproxy_peers_tls_{item}"


def _either(item: str) -> str:
    return f"{_var(item)}_src (a file on the controller) or {_var(item)} (PEM text)"


def _collect(inputs: dict, peer: str, problems: list[str]) -> dict[str, tuple[str, str]]:
    """item -> (how it was given, PEM text), for the items given once and readable."""
    given: dict[str, tuple[str, str]] = {}
    missing = []
    for item in ITEMS:
        entry = inputs.get(item) or {}
        content, src, read = (entry.get(k) or "" for k in ("content", "src", "read"))
        if content and src:
            problems.append(
                f"{_var(item)} and {_var(item)}_src are both set for {peer}: give "
                f"{WHAT[item]} once, either as PEM text or as a file on the controller."
            )
        elif content:
            given[item] = (_var(item), content)
        elif src and read.strip():
            given[item] = (f"{_var(item)}_src ({src})", read)
        elif src:
            problems.append(
                f"{_var(item)}_src is {src!r} for {peer}, which is not a readable, "
                "non-empty file on the controller (paths are looked up like the file "
                "lookup's: absolute, or relative to the playbook's files/ folder). "
                f"Point it at {WHAT[item]}."
            )
        else:
            missing.append(item)
    if set(missing) == set(ITEMS):
        problems.append(
            f"haproxy_peers_tls is true (the default) but no certificate is given for "
            f"{peer}: set {_either('ca')}, and likewise haproxy_peers_tls_cert(_src) "
            "and haproxy_peers_tls_key(_src) for every member (the role's README, "
            "'Peers over mutual TLS'). Only where the peers network is isolated "
            "otherwise: haproxy_peers_tls: false."
        )
        return given
    if "ca" in missing:
        problems.append(
            f"No CA is given for {peer}, so it could not tell members from strangers: "
            f"set {_either('ca')} (the CA that signs every member's certificate)."
        )
    if "cert" in missing and "key" in missing:
        problems.append(
            f"No certificate and no private key are given for {peer}: set "
            f"{_either('cert')}, and {_either('key')}."
        )
    elif "cert" in missing:
        problems.append(
            f"A private key is given for {peer} but no certificate: set {_either('cert')}."
        )
    elif "key" in missing:
        problems.append(
            f"A certificate is given for {peer} but not its private key: set {_either('key')}."
        )
    return given


def _names(cert) -> list[str]:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        # Like HAProxy's verifyhost: the CN counts only when there is no SAN.
        return [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return san.value.get_values_for_type(x509.DNSName)


def _issued_by(cert, issuer) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:
        return False
    return True


def _chains_to(chain: list, cas: list) -> bool:
    """The first certificate of ``chain`` leads to one of ``cas``, through the rest of it."""
    current, intermediates = chain[0], list(chain[1:])
    for _link in range(len(chain)):
        if any(_issued_by(current, ca) for ca in cas):
            return True
        parents = [c for c in intermediates if _issued_by(current, c)]
        if not parents:
            return False
        current = parents[0]
        intermediates.remove(current)
    return False


def _check(given: dict[str, tuple[str, str]], peer: str, problems: list[str]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    (ca_how, ca_pem), (cert_how, cert_pem), (key_how, key_pem) = (given[i] for i in ITEMS)
    try:
        cas = x509.load_pem_x509_certificates(ca_pem.encode())
    except ValueError:
        problems.append(f"{ca_how} for {peer} holds no PEM certificate.")
        return
    not_ca = [c.subject.rfc4514_string() for c in cas if not _is_ca(c)]
    if not_ca:
        problems.append(
            f"{ca_how} for {peer} holds certificates that are not CAs (no basicConstraints "
            f"CA:TRUE): {', '.join(not_ca)}. Give the CA that signs the members' certificates."
        )
    try:
        chain = x509.load_pem_x509_certificates(cert_pem.encode())
    except ValueError:
        problems.append(f"{cert_how} for {peer} holds no PEM certificate.")
        return
    leaf = chain[0]
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except TypeError:
        problems.append(
            f"{key_how} for {peer} is encrypted with a passphrase, which HAProxy cannot "
            "ask for at reload: give it unencrypted (keep it in Ansible Vault instead)."
        )
        key = None
    except ValueError:
        problems.append(f"{key_how} for {peer} is not a PEM private key.")
        key = None

    def spki(public_key) -> bytes:
        der, info = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        return public_key.public_bytes(der, info)

    if key is not None and spki(key.public_key()) != spki(leaf.public_key()):
        problems.append(
            f"{key_how} for {peer} is not the key of the certificate in {cert_how}: give "
            "the certificate and the key that belong together."
        )
    if not _chains_to(chain, cas):
        problems.append(
            f"The certificate in {cert_how} ({leaf.subject.rfc4514_string()}, issued by "
            f"{leaf.issuer.rfc4514_string()}) is not signed by the CA in {ca_how}, so the "
            f"other members would refuse {peer}: issue it from that CA, or add its CA "
            "to the CA bundle first (README: rotating certificates)."
        )
    if peer not in _names(leaf):
        problems.append(
            f"The certificate in {cert_how} names {_names(leaf)}, not the peer name "
            f"{peer!r}: the other members check it (verifyhost). Issue it with "
            f"subjectAltName DNS:{peer}."
        )
    now = datetime.now(UTC)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        problems.append(
            f"The certificate in {cert_how} for {peer} is valid from "
            f"{leaf.not_valid_before_utc:%Y-%m-%d} to {leaf.not_valid_after_utc:%Y-%m-%d}, "
            "not now: issue a current one."
        )
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = None
    needed = {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    if usages is not None and not needed <= set(usages):
        problems.append(
            f"The certificate in {cert_how} for {peer} lacks extendedKeyUsage serverAuth "
            "and clientAuth: a member is a TLS server (it accepts peers) and a client (it "
            "connects to them). Issue it with both, or without extendedKeyUsage."
        )


def _is_ca(cert) -> bool:
    from cryptography import x509

    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def haproxy_peers_tls_check(inputs: dict, peer: str) -> dict:
    """Problems with a member's TLS material, and the PEM texts when there are none."""
    problems: list[str] = []
    given = _collect(inputs, peer, problems)
    if not problems:
        try:
            _check(given, peer, problems)
        except ImportError:
            problems.append(
                "The controller's Python lacks the 'cryptography' package, which the "
                "role needs to check the peers certificates: install it where "
                "ansible-playbook runs."
            )
    if problems:
        return {"problems": problems}
    return {"problems": [], **{item: given[item][1].strip() + "\n" for item in ITEMS}}


class FilterModule:
    def filters(self):
        return {"haproxy_peers_tls_check": haproxy_peers_tls_check}
