"""Throwaway certificate authorities and peer certificates, for tests of the TLS peers.

The lab's own CA comes from playbooks/lab_pki.yml (community.crypto). The
tests need more: a second CA to rotate to, certificates that must be refused
(self-signed, from another CA, without the peer name, expired), so they are
made here, in memory, with the same library Ansible's controller uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = timedelta(days=30)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _pem_cert(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key, as PEM text."""

    cert: str
    key: str

    def write(self, folder: Path, name: str) -> tuple[Path, Path]:
        """Write ``<name>.crt`` and ``<name>.key`` (mode 0600) into ``folder``."""
        cert, key = folder / f"{name}.crt", folder / f"{name}.key"
        cert.write_text(self.cert)
        key.touch(mode=0o600)
        key.write_text(self.key)
        return cert, key

    @property
    def pem(self) -> str:
        """Certificate and key in one file, as HAProxy's ``crt`` takes them."""
        return self.cert + self.key


def _certificate(
    subject: str,
    public_key,
    issuer: x509.Name,
    signing_key,
    *,
    ca: bool,
    dns_names: tuple[str, ...] = (),
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    usages: tuple[x509.ObjectIdentifier, ...] | None = (
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ),
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(minutes=5))
        .not_valid_after(not_after or now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    if not ca and usages is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


class Authority:
    """A CA that issues peer certificates."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._key = _key()
        self._cert = _certificate(name, self._key.public_key(), _name(name), self._key, ca=True)
        self.cert = _pem_cert(self._cert)

    def issue(self, peer: str, **options) -> Issued:
        """A certificate for ``peer`` (CN and subjectAltName DNS), server and client use.

        ``options`` go to the certificate: ``dns_names``, ``not_before``,
        ``not_after``, ``usages`` (None: no extendedKeyUsage).
        """
        key = _key()
        options.setdefault("dns_names", (peer,))
        cert = _certificate(
            peer, key.public_key(), self._cert.subject, self._key, ca=False, **options
        )
        return Issued(_pem_cert(cert), _pem_key(key))


def self_signed(peer: str) -> Issued:
    """A certificate for ``peer`` that no CA signed: what anybody can make."""
    key = _key()
    cert = _certificate(peer, key.public_key(), _name(peer), key, ca=False, dns_names=(peer,))
    return Issued(_pem_cert(cert), _pem_key(key))
