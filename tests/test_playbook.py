"""The PLAY RECAP of ansible-playbook's output, read by the tests that run playbooks."""

from peerlab.playbook import changes_by_host, play_recap

OUTPUT = """
TASK [Something] ***************************************************************
ok: [web]

PLAY RECAP *********************************************************************
haproxy-1                  : ok=42   changed=3    unreachable=0    failed=0    skipped=9    rescued=0    ignored=0
web                        : ok=20   changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0
"""  # noqa: E501


def test_each_host_of_the_recap_with_its_changes_and_failures():
    assert play_recap(OUTPUT) == {"haproxy-1": (3, 0), "web": (0, 1)}
    assert changes_by_host(OUTPUT) == {"haproxy-1": 3, "web": 0}


def test_output_without_a_recap_names_no_host():
    assert play_recap("TASK [x] ***\nok: [web]\n") == {}
