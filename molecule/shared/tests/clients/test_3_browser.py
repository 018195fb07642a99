"""A real browser: headless Chromium keeps the application's cookie and its backend.

One browser profile, three ports of localhost (relays to LB1, LB2 and the
floating address): like the hosts of one site, they share the cookie jar.
The browser gets its cookie from the application through LB1, then reloads
through LB2, through the floating address, across a failover of that address
and back, and must see the same backend every time. Before the pages
through LB2, LB2's round robin is turned away from that backend, so a
session LB2 did not know would land elsewhere: the control test shows that
this is what the browser sees when LB2 lacks the entry.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest
from app_clients import holder, steer_round_robin_away
from relay import Relay
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from peerlab.failover import wait_holder
from peerlab.narrative import SETTLE_TIMEOUT_S
from peerlab.runtime import socket_command
from peerlab.sync import wait_synced, wait_until

# The flags of a browser that talks to nothing but the pages it is sent to.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root, in a container or CI
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",
    "--window-size=800,300",
)
PAGE_TIMEOUT_S = 20
REPLICATION_TIMEOUT_S = 10.0
RELOADS = 3
PROBE_SESSION = 7500  # a known session that tells when the address answers


@pytest.fixture
def browser(chromium_paths) -> Iterator[webdriver.Chrome]:
    chromium, chromedriver = chromium_paths
    profile = tempfile.mkdtemp(prefix="peerlab-chromium-")
    options = Options()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # The driver's path given: Selenium does not look for (or download) one.
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_page_load_timeout(PAGE_TIMEOUT_S)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def relays(lb1, lb2, floating) -> Iterator[dict[str, Relay]]:
    with (
        Relay(lb1.address) as to_lb1,
        Relay(lb2.address) as to_lb2,
        Relay(floating.address) as to_vip,
    ):
        yield {"lb1": to_lb1, "lb2": to_lb2, "vip": to_vip}


class Visits:
    """The browser's page loads: each one's answer, and a screenshot of each step."""

    def __init__(self, driver: webdriver.Chrome, folder, prefix: str) -> None:
        self.driver, self.folder, self.prefix = driver, folder, prefix
        self.seen: list[tuple[str, str]] = []

    def open(self, url: str, step: str, reloads: int = 0) -> str:
        """Load ``url``, reload it ``reloads`` times; the answer, the same every time."""
        self.driver.get(url)
        answers = [self._body()]
        for _ in range(reloads):
            self.driver.refresh()
            answers.append(self._body())
        self.driver.save_screenshot(
            str(self.folder / f"{self.prefix}-{len(self.seen) + 1}-{step}.png")
        )
        assert len(set(answers)) == 1, f"{step}: {answers} on one page's reloads"
        self.seen.append((step, answers[0]))
        return answers[0]

    def _body(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text.strip()

    def cookie(self, name: str) -> str:
        cookie = self.driver.get_cookie(name)
        assert cookie, f"the browser holds no {name}: {self.driver.get_cookies()}"
        return cookie["value"]


def wait_entry(lb, key: str, server: str) -> None:
    def probe() -> tuple[bool, str | None]:
        found = lb.table_servers().get(key)
        return found == server, found

    wait_until(probe, REPLICATION_TIMEOUT_S, f"{key} -> {server} in {lb.name}'s table")


def test_a_browser_keeps_its_backend_through_both_lbs_and_across_a_failover(
    settled, browser, relays, lbs, lb1, lb2, floating, session_cookie, server_of, artefacts, figures
):
    visits = Visits(browser, artefacts, "browser")
    first = visits.open(relays["lb1"].url, "lb1", RELOADS)
    key = visits.cookie(session_cookie)
    server = server_of[first]
    wait_entry(lb1, key, server)
    wait_entry(lb2, key, server)
    # A session LB2 did not know would go to another server from here on.
    elsewhere = steer_round_robin_away(lb2, server, session_cookie, server_of)
    assert visits.open(relays["lb2"].url, "lb2", RELOADS) == first
    assert visits.open(relays["lb1"].url, "lb1-again", RELOADS) == first
    held_by = holder(lbs, floating.address)
    assert visits.open(relays["vip"].url, f"address-on-{held_by.name}", RELOADS) == first

    # The failover: HAProxy stops where the address is; the browser follows it.
    cookie = lb1.names.cookie
    held_by.systemctl("stop")
    try:
        took_over = wait_holder(
            lbs, floating.address, floating.url, PROBE_SESSION, cookie, SETTLE_TIMEOUT_S,
            not_on=held_by,
        )  # fmt: skip
        moved = visits.open(relays["vip"].url, f"address-on-{took_over.name}", RELOADS)
    finally:
        held_by.systemctl("start")
    others = [lb.name for lb in lbs if lb is not held_by]
    wait_synced(held_by.run, held_by.names.section, others, SETTLE_TIMEOUT_S)
    if floating.preempt:
        wait_holder(
            lbs, floating.address, floating.url, PROBE_SESSION, cookie, SETTLE_TIMEOUT_S,
            expected=held_by,
        )  # fmt: skip
    back = visits.open(relays["vip"].url, "address-back", RELOADS)

    assert moved == first, f"after the address moved to {took_over.name}: {moved}, not {first}"
    assert back == first, f"after the address came back: {back}, not {first}"
    assert visits.cookie(session_cookie) == key, "the application issued another cookie"
    answers = {answer for _, answer in visits.seen}
    assert answers == {first}, visits.seen
    figures["browser"] = (
        f"{browser.capabilities.get('browserVersion')}: {len(visits.seen) * (RELOADS + 1)} "
        f"pages through {lb1.name}, {lb2.name} and the address (moved to {took_over.name} and "
        f"back), all {first}, one {session_cookie} (LB2's round robin pointed at "
        f"{elsewhere}); screenshots in {artefacts}"
    )


def test_without_the_replicated_entry_the_browser_lands_elsewhere_through_lb2(
    settled, browser, relays, lb1, lb2, session_cookie, server_of, artefacts, figures
):
    visits = Visits(browser, artefacts, "control")
    first = visits.open(relays["lb1"].url, "lb1")
    key = visits.cookie(session_cookie)
    server = server_of[first]
    wait_entry(lb2, key, server)
    # No more requests of this browser reach LB1, which would send the entry again.
    relays["lb1"].close()
    lb2.run(socket_command(f"clear table {lb2.names.table} key {key}"))
    assert key not in lb2.table_servers()
    elsewhere = steer_round_robin_away(lb2, server, session_cookie, server_of)
    answer = visits.open(relays["lb2"].url, "lb2-without-entry")
    assert server_of[answer] == elsewhere != server, (
        f"without its entry on {lb2.name} the session went to {answer}; round robin pointed "
        f"at {elsewhere}, its server was {server}"
    )
    figures["browser, control"] = (
        f"entry cleared on {lb2.name}: the browser's session went from {first} to {answer} "
        f"through {lb2.name}, as its round robin pointed: the test sees a missing entry"
    )
