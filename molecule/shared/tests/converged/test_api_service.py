"""The lab's second service, api (inventory/lab/group_vars/loadbalancers.yml).

HTTPS with the lab CA's certificate on both members and the floating
address, plain HTTP redirected to it, sticky on the X-Client-Id header in a
table of its own that the peers replicate; the Prometheus endpoint on the
statistics listener, behind its credentials, counts each table as `show
table` does. The rate limit's own tests are in the clients stage (they run
the client's count past the limit, which lasts a minute).
"""

from __future__ import annotations

import re

import pytest
import requests

from peerlab.lab import wait_all_synced
from peerlab.pki import Authority
from peerlab.runtime import list_tables, show_table
from peerlab.sync import wait_until

HTTPS_PORT, HTTP_PORT, STATS_PORT = 8443, 8081, 8404
HEADER = "X-Client-Id"
TABLE = "back-api"
REPLICATION_TIMEOUT_S = 10.0
SYNC_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def lab_ca(lab_pki) -> str:
    return str(lab_pki / "ca.crt")


def test_https_answers_on_each_member_and_the_floating_address_with_the_lab_ca(
    lb_ips, floating, lab_ca
):
    for address in [*lb_ips.values(), floating.address]:
        answer = requests.get(f"https://{address}:{HTTPS_PORT}/", verify=lab_ca, timeout=5)
        assert answer.status_code == 200, address
        assert answer.text.startswith("Backend "), (address, answer.text)


def test_https_is_refused_by_a_client_that_trusts_another_ca(lb_ips, tmp_path):
    other = tmp_path / "other-ca.crt"
    other.write_text(Authority("not the lab CA").cert)
    for address in lb_ips.values():
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"https://{address}:{HTTPS_PORT}/", verify=str(other), timeout=5)


def test_plain_http_is_redirected_to_the_https_port(lb_ips):
    for address in lb_ips.values():
        answer = requests.get(
            f"http://{address}:{HTTP_PORT}/path?q=1", allow_redirects=False, timeout=5
        )
        assert answer.status_code == 301, address
        assert answer.headers["Location"] == f"https://{address}:{HTTPS_PORT}/path?q=1"


def test_each_client_keeps_its_server_through_both_members_and_both_tables_agree(
    lbs, lb_ips, lab_ca
):
    wait_all_synced(lbs, SYNC_TIMEOUT_S)
    first_ip, second_ip = (lb_ips[lb.name] for lb in lbs)
    clients = [f"api-client-{n}" for n in range(6)]

    def ask(address: str, client: str) -> str:
        return requests.get(
            f"https://{address}:{HTTPS_PORT}/", headers={HEADER: client}, verify=lab_ca, timeout=5
        ).text

    first = {client: ask(first_ip, client) for client in clients}
    assert len(set(first.values())) > 1, f"round robin sent every client to one server: {first}"
    for client in clients:
        wait_until(
            lambda c=client: (c in show_table(lbs[1].run, TABLE).entries, None),
            REPLICATION_TIMEOUT_S,
            f"{client} in {lbs[1].name}'s table {TABLE}",
        )
    tables = [{k: v for k, v in show_table(lb.run, TABLE).servers().items() if k in clients}
              for lb in lbs]  # fmt: skip
    assert tables[0] == tables[1]
    assert set(tables[0]) == set(clients)
    assert {client: ask(second_ip, client) for client in clients} == first


def metrics(address: str, auth) -> requests.Response:
    return requests.get(f"http://{address}:{STATS_PORT}/metrics", auth=auth, timeout=5)


def test_metrics_answer_only_with_the_statistics_credentials(lb_ips, stats_auth):
    for address in lb_ips.values():
        assert metrics(address, None).status_code == 401
        assert metrics(address, (stats_auth[0], "not-the-password")).status_code == 401
        assert metrics(address, stats_auth).status_code == 200


def test_metrics_count_every_table_as_show_table_does(lbs, lb_ips, stats_auth):
    for lb in lbs:
        # A table can change between the two reads; a few tries find them equal.
        def agree(lb=lb) -> tuple[bool, object]:
            text = metrics(lb_ips[lb.name], stats_auth).text
            used = {
                name: int(value)
                for name, value in re.findall(
                    r'^haproxy_sticktable_used\{name="([^"]+)",type="[^"]+"\} (\d+)$', text, re.M
                )
            }
            shown = {t.name: t.used for t in list_tables(lb.run)}
            return used == shown and TABLE in shown, (used, shown)

        wait_until(agree, REPLICATION_TIMEOUT_S, f"{lb.name}'s metrics and show table agree")
