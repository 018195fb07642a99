"""The services filter: each refusal names the service and the field, and what
the template gets for each kind of stickiness."""

from datetime import UTC, datetime, timedelta

import pytest
from role_template import collection_filters

from peerlab.pki import Authority

services_filter = collection_filters()["haproxy_peers_lab.lab.haproxy_peers_services"]
SETTINGS = {"peers": "haproxy-peers", "cert_dir": "/etc/haproxy/certs", "files": {}}
LEGACY_OFF = {"enabled": False}
CA = Authority("services filter test CA")
ISSUED = CA.issue("api.example")


def service(**fields) -> dict:
    return {
        "name": "api",
        "binds": [{"address": "*:8081"}],
        "servers": [{"name": "a1", "address": "10.0.0.5", "port": 8080}],
        **fields,
    }


def https(**fields) -> dict:
    given = {"tls_cert": ISSUED.cert, "tls_key": ISSUED.key, **fields}
    return service(binds=[{"address": "*:8443", "tls": True}], **given)


def problems(*services, legacy=LEGACY_OFF, settings=SETTINGS) -> list[str]:
    return services_filter(list(services), legacy, settings)["problems"]


def test_well_formed_services_have_no_problem_and_the_certificate_goes_to_its_file():
    result = services_filter([https(), service(name="ui", binds=[{"address": "*:80"}])],
                             LEGACY_OFF, SETTINGS)  # fmt: skip
    assert result["problems"] == []
    assert [s["name"] for s in result["services"]] == ["api", "ui"]
    assert result["certificates"] == [
        {"service": "api", "file": "/etc/haproxy/certs/api.pem", "pem": ISSUED.cert + ISSUED.key}
    ]


def test_two_services_with_one_name_are_refused_by_name():
    found = problems(service(), service(binds=[{"address": "*:8082"}]))
    assert any("names the service 'api' more than once" in p for p in found), found


def test_a_service_named_like_the_single_service_backend_is_refused():
    legacy = {"enabled": True, "frontend": "front-session", "bind": "*:80",
              "backend": "back-session", "servers": service()["servers"]}  # fmt: skip
    found = problems(service(name="session"), legacy=legacy)
    assert found == [
        "Service 'session' would be served by a proxy named 'front-session', as the single "
        "service of haproxy_peers_servers is: give it another name."
    ]


def test_one_bind_on_two_services_is_refused_naming_both():
    found = problems(service(), service(name="ui"))
    assert any(
        "haproxy_peers_services[ui].binds has '*:8081', which service 'api' binds already" in p
        for p in found
    ), found


def test_https_without_a_certificate_is_refused_naming_the_fields():
    found = problems(https(tls_cert=None, tls_key=None))
    assert found == [
        "haproxy_peers_services[api].binds has an HTTPS bind (tls: true) but the service has "
        "no certificate and key: set haproxy_peers_services[api].tls_cert or "
        "haproxy_peers_services[api].tls_cert_src, and haproxy_peers_services[api].tls_key "
        "or haproxy_peers_services[api].tls_key_src."
    ]


def test_https_without_a_certificate_is_named_after_another_service_problem():
    first = service(name="first", binds=[{"address": "*:1"}], stick={"kind": "ip"})
    found = problems(first, https(tls_cert=None, tls_key=None))
    assert any(p.startswith("haproxy_peers_services[api].binds has an HTTPS bind") for p in found)


def test_a_certificate_that_does_not_match_its_key_is_refused():
    other = CA.issue("api.example")
    found = problems(https(tls_key=other.key))
    assert any(
        p.startswith("haproxy_peers_services[api].tls_key is not the key of the certificate")
        for p in found
    ), found


def test_an_expired_certificate_is_refused_with_its_dates():
    now = datetime.now(UTC)
    old = CA.issue("api.example", not_before=now - timedelta(days=30),
                   not_after=now - timedelta(days=1))  # fmt: skip
    found = problems(https(tls_cert=old.cert, tls_key=old.key))
    assert any(
        p.startswith("The certificate in haproxy_peers_services[api].tls_cert (CN=api.example)")
        and "not now" in p
        for p in found
    ), found


def test_a_certificate_file_that_cannot_be_read_is_named():
    found = problems(https(tls_cert=None, tls_cert_src="/nowhere/api.crt"))
    assert any(
        "haproxy_peers_services[api].tls_cert_src is '/nowhere/api.crt', which is not a "
        "readable" in p
        for p in found
    ), found


def test_certificate_files_read_on_the_controller_are_used():
    settings = SETTINGS | {"files": {"api.crt": ISSUED.cert, "api.key": ISSUED.key}}
    result = services_filter(
        [https(tls_cert=None, tls_key=None, tls_cert_src="api.crt", tls_key_src="api.key")],
        LEGACY_OFF,
        settings,
    )
    assert result["problems"] == []
    assert result["certificates"][0]["pem"] == ISSUED.cert + ISSUED.key


def test_an_unknown_stickiness_kind_is_refused_naming_the_service():
    found = problems(service(stick={"kind": "ip"}))
    assert found == [
        "haproxy_peers_services[api].stick.kind is 'ip', which is no stickiness kind: use "
        "cookie (the session cookie, learnt from request and response), source (the "
        "client's address) or header (a request header)."
    ]


def test_stickiness_on_a_header_needs_the_header():
    found = problems(service(stick={"kind": "header"}))
    assert any(p.startswith("haproxy_peers_services[api].stick.header is ''") for p in found)


def test_a_rate_limit_without_a_period_is_refused_naming_the_service():
    found = problems(service(rate_limit={"requests": 10}))
    assert found == [
        "haproxy_peers_services[api].rate_limit has no period: give the period the requests "
        "are counted over, for example period: 10s with requests: 100."
    ]


@pytest.mark.parametrize("requests", [0, None, "many", True])
def test_a_rate_limit_needs_a_positive_number_of_requests(requests):
    found = problems(service(rate_limit={"requests": requests, "period": "10s"}))
    assert any(p.startswith("haproxy_peers_services[api].rate_limit.requests is") for p in found)


def test_a_redirect_without_an_https_bind_is_refused():
    found = problems(service(redirect_to_https=True))
    assert any(p.startswith("haproxy_peers_services[api].redirect_to_https is true") for p in found)


def test_no_service_at_all_is_refused_naming_both_variables():
    assert problems() == [
        "The load balancer has no service: set haproxy_peers_servers (one service, with the "
        "frontend and backend variables) or list haproxy_peers_services."
    ]


@pytest.mark.parametrize(
    ("stick", "table_type", "reads", "response"),
    [
        ({}, "string", "req.cook(JSESSIONID)", "res.cook(JSESSIONID)"),
        ({"kind": "cookie", "cookie": "SID"}, "string", "req.cook(SID)", "res.cook(SID)"),
        ({"kind": "source"}, "ip", "src", ""),
        ({"kind": "header", "header": "X-Client"}, "string", "req.hdr(X-Client)", ""),
    ],
)
def test_each_stickiness_kind_gives_its_table_type_and_samples(stick, table_type, reads, response):
    result = services_filter([service(stick=stick)], LEGACY_OFF, SETTINGS)
    completed = result["services"][0]["stick"]
    assert (completed["type"], completed["request"], completed["response"]) == (
        table_type,
        reads,
        response,
    )


def test_a_rate_limit_table_lives_in_the_peers_section_and_outlives_a_request_by_the_period():
    limit = services_filter([service(rate_limit={"requests": "5", "period": "1m"})],
                            LEGACY_OFF, SETTINGS)["services"][0]["rate_limit"]  # fmt: skip
    assert limit == {
        "table": "rl-api",
        "reference": "haproxy-peers/rl-api",
        "requests": 5,
        "period": "1m",
        "status": 429,
        "size": "100k",
        "expire": "1m",
    }
