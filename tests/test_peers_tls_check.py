"""The role's check of a member's TLS material, run by the controller before any task."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from peerlab.pki import Authority, self_signed

PLUGIN = Path(__file__).parents[1] / "plugins/filter/peers_tls.py"
PEER = "haproxy-1"


def _load():
    spec = importlib.util.spec_from_file_location("peers_tls", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load().haproxy_peers_tls_check


@pytest.fixture(scope="module")
def ca() -> Authority:
    return Authority("lab CA")


def inline(ca_pem: str = "", cert: str = "", key: str = "") -> dict:
    """Inputs as the role passes them, everything given as PEM text."""
    return {
        "ca": {"content": ca_pem, "src": "", "read": ""},
        "cert": {"content": cert, "src": "", "read": ""},
        "key": {"content": key, "src": "", "read": ""},
    }


def test_a_certificate_from_the_ca_with_its_key_and_peer_name_passes(ca):
    issued = ca.issue(PEER)
    result = check(inline(ca.cert, issued.cert, issued.key), PEER)
    assert result["problems"] == []
    assert (result["ca"], result["cert"], result["key"]) == (ca.cert, issued.cert, issued.key)


def test_files_on_the_controller_count_like_inline_text(ca):
    issued = ca.issue(PEER)
    inputs = {
        "ca": {"content": "", "src": "/pki/ca.crt", "read": ca.cert},
        "cert": {"content": "", "src": "/pki/haproxy-1.crt", "read": issued.cert},
        "key": {"content": issued.key, "src": "", "read": ""},
    }
    assert check(inputs, PEER)["problems"] == []


def test_a_ca_bundle_of_old_and_new_ca_accepts_certificates_of_either(ca):
    new = Authority("new lab CA")
    bundle = ca.cert + new.cert
    for authority in (ca, new):
        issued = authority.issue(PEER)
        assert check(inline(bundle, issued.cert, issued.key), PEER)["problems"] == []


def problems(inputs: dict) -> str:
    result = check(inputs, PEER)
    assert result["problems"], "expected the material to be refused"
    assert set(result) == {"problems"}, "refused material must not be handed on"
    return " ".join(result["problems"])


def test_nothing_given_names_every_variable_and_the_switch(ca):
    text = problems(inline())
    for name in ("haproxy_peers_tls_ca_src", "haproxy_peers_tls_cert", "haproxy_peers_tls_key"):
        assert name in text
    assert "haproxy_peers_tls: false" in text


def test_a_certificate_without_its_key_is_refused(ca):
    issued = ca.issue(PEER)
    text = problems(inline(ca.cert, issued.cert))
    assert "not its private key" in text
    assert "haproxy_peers_tls_key_src" in text


def test_a_key_without_its_certificate_is_refused(ca):
    text = problems(inline(ca.cert, key=ca.issue(PEER).key))
    assert "no certificate" in text
    assert "haproxy_peers_tls_cert_src" in text


def test_a_missing_ca_is_refused(ca):
    issued = ca.issue(PEER)
    text = problems(inline("", issued.cert, issued.key))
    assert "No CA is given" in text
    assert "haproxy_peers_tls_ca_src" in text


def test_an_unreadable_file_is_named_with_its_path(ca):
    issued = ca.issue(PEER)
    inputs = inline(cert=issued.cert, key=issued.key)
    inputs["ca"] = {"content": "", "src": "/no/such/ca.crt", "read": ""}
    text = problems(inputs)
    assert "haproxy_peers_tls_ca_src is '/no/such/ca.crt'" in text


def test_text_and_file_for_the_same_item_are_refused(ca):
    issued = ca.issue(PEER)
    inputs = inline(ca.cert, issued.cert, issued.key)
    inputs["ca"]["src"] = "/pki/ca.crt"
    assert "haproxy_peers_tls_ca and haproxy_peers_tls_ca_src are both set" in problems(inputs)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda ca: Authority("another CA").issue(PEER), id="another CA"),
        pytest.param(lambda ca: self_signed(PEER), id="self-signed"),
    ],
)
def test_a_certificate_not_signed_by_the_ca_is_refused(ca, make):
    issued = make(ca)
    text = problems(inline(ca.cert, issued.cert, issued.key))
    assert "is not signed by the CA in haproxy_peers_tls_ca" in text


def test_a_key_of_another_certificate_is_refused(ca):
    text = problems(inline(ca.cert, ca.issue(PEER).cert, ca.issue(PEER).key))
    assert "is not the key of the certificate" in text


def test_a_certificate_for_another_peer_name_is_refused(ca):
    issued = ca.issue("haproxy-2")
    text = problems(inline(ca.cert, issued.cert, issued.key))
    assert "not the peer name 'haproxy-1'" in text


def test_an_expired_certificate_is_refused(ca):
    past = datetime.now(UTC) - timedelta(days=10)
    issued = ca.issue(PEER, not_before=past - timedelta(days=30), not_after=past)
    assert "not now" in problems(inline(ca.cert, issued.cert, issued.key))


def test_a_server_only_certificate_is_refused(ca):
    issued = ca.issue(PEER, usages=(ExtendedKeyUsageOID.SERVER_AUTH,))
    assert "serverAuth and clientAuth" in problems(inline(ca.cert, issued.cert, issued.key))


def test_a_certificate_without_extended_key_usage_passes(ca):
    issued = ca.issue(PEER, usages=None)
    assert check(inline(ca.cert, issued.cert, issued.key), PEER)["problems"] == []


def test_a_leaf_certificate_given_as_ca_is_refused(ca):
    issued = ca.issue(PEER)
    text = problems(inline(issued.cert, issued.cert, issued.key))
    assert "not CAs" in text


def test_garbage_is_named_as_not_pem(ca):
    issued = ca.issue(PEER)
    assert "holds no PEM certificate" in problems(inline("not a pem", issued.cert, issued.key))
    assert "is not a PEM private key" in problems(inline(ca.cert, issued.cert, "-----BEGIN x"))
