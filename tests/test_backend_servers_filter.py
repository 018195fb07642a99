import importlib.util
from pathlib import Path

PLUGIN = Path(__file__).parents[1] / "playbooks" / "filter_plugins" / "lab_topology.py"
spec = importlib.util.spec_from_file_location("lab_topology", PLUGIN)
lab_topology = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lab_topology)


def test_one_server_per_vhost_of_every_web_host():
    web = [
        {"private_ip": "10.0.0.10", "apache_backends_served": [{"name": "a1", "port": 8081}]},
        {
            "private_ip": "10.0.0.20",
            "apache_backends_served": [
                {"name": "b1", "port": 8081},
                {"name": "b2", "port": "8082"},
            ],
        },
    ]
    assert lab_topology.backend_servers(web) == [
        {"name": "a1", "address": "10.0.0.10", "port": 8081},
        {"name": "b1", "address": "10.0.0.20", "port": 8081},
        {"name": "b2", "address": "10.0.0.20", "port": 8082},
    ]


def test_filter_is_registered_for_ansible():
    assert "backend_servers" in lab_topology.FilterModule().filters()
