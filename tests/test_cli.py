"""The peerlab command line: help, and refusals that name the way out."""

import json
import subprocess
import sys

import pytest

from peerlab.cli import EXIT_REFUSED, main


def peerlab(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "peerlab", *argv], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "command", ["access", "demo", "tables", "wait-synced", "status", "fault", "failover"]
)
def test_every_command_documents_itself(command):
    result = peerlab(command, "--help")
    assert result.returncode == 0
    assert "--json" in result.stdout
    assert "--inventory" in result.stdout


def test_a_missing_inventory_is_refused_with_what_to_do(tmp_path, capsys):
    status = main(["tables", "--json", "--inventory", str(tmp_path / "none.yml")])
    assert status == EXIT_REFUSED
    assert "does not exist: pass --inventory" in json.loads(capsys.readouterr().out)["error"]


def test_a_load_balancer_number_outside_the_inventory_is_refused(capsys):
    status = main(["access", "--lb", "3", "1", "2"])
    assert status == EXIT_REFUSED
    assert "--lb 3: the inventory has load balancers 1 to 2" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("5", "1", "FIRST (5) is greater than LAST (1), so there is nothing to send: "
         "type the lower number first, `peerlab access 1 5`"),
        ("-1", "3", "session numbers start at 0"),
        ("1", "20000", "20000 sessions asked for; peerlab access sends at most 10000"),
    ],
)  # fmt: skip
def test_access_refuses_bad_ranges_before_sending_anything(first, last, message, capsys):
    # --url on a port where nothing answers: a range that got through would fail with 1.
    status = main(["access", "--url", "http://127.0.0.1:9/", "--", first, last])
    captured = capsys.readouterr()
    assert status == EXIT_REFUSED
    assert message in captured.err
    assert captured.out == ""


def test_access_prints_the_demo_format_and_fails_when_nothing_answers(capsys):
    # Port 9 on loopback (discard) has no HTTP server here: every request fails.
    status = main(["access", "--url", "http://127.0.0.1:9/", "7", "8"])
    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert [line[:8] for line in lines] == ["00007 - ", "00008 - "]
    assert all("error:" in line for line in lines)


def test_demo_against_unreachable_load_balancers_refuses_and_says_how_to_bring_them_up(
    tmp_path, capsys
):
    # Both "load balancers" are this machine's loopback, where no lab answers SSH.
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "loadbalancers:\n  hosts:\n"
        "    lb-a: {ansible_host: 127.0.0.1}\n    lb-b: {ansible_host: 127.0.0.1}\n"
    )
    status = main(["demo", "--inventory", str(inventory), "--ssh-key", str(tmp_path / "none")])
    assert status == EXIT_REFUSED
    error = capsys.readouterr().err
    assert "the lab is not up: cannot reach lb-a" in error
    assert "make lab" in error


def test_an_unknown_fault_is_refused_by_name():
    result = peerlab("fault", "earthquake")
    assert result.returncode == 2
    assert "invalid choice: 'earthquake'" in result.stderr
    assert "partition" in result.stderr


def test_a_fault_on_a_load_balancer_outside_the_inventory_is_refused(capsys):
    status = main(["fault", "kill", "--lb", "3", "--channel", "ansible"])
    assert status == EXIT_REFUSED
    assert "--lb 3: the inventory has load balancers 1 to 2" in capsys.readouterr().err


def test_failover_refuses_an_inventory_without_a_floating_address_naming_the_variable(
    tmp_path, capsys
):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "loadbalancers:\n  hosts:\n"
        "    lb-a: {ansible_host: 127.0.0.1}\n    lb-b: {ansible_host: 127.0.0.1}\n"
    )
    status = main(["failover", "--json", "--inventory", str(inventory)])
    assert status == EXIT_REFUSED
    error = json.loads(capsys.readouterr().out)["error"]
    assert "no load balancer of group 'loadbalancers' has a floating address" in error
    assert "set keepalived_vip_address" in error


def test_an_interval_without_watch_is_refused_before_reading_anything(capsys):
    status = main(["tables", "--interval", "5", "--inventory", "/nonexistent/hosts.yml"])
    assert status == EXIT_REFUSED
    assert "--interval sets how often --watch refreshes" in capsys.readouterr().err


@pytest.mark.parametrize("interval", ["0", "-1", "soon"])
def test_a_watch_interval_that_is_no_positive_number_is_refused(interval):
    result = peerlab("tables", "--watch", "--interval", interval)
    assert result.returncode == 2
    assert f"{interval!r} is not a number of seconds above 0" in result.stderr
