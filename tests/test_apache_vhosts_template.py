"""The apache_backends vhosts template: the application's session cookie, when asked for."""

from __future__ import annotations

import re

from role_template import render_role_template

TEMPLATE = "etc/apache2/sites-available/backends.conf.j2"


def vhosts(config: str) -> dict[str, list[str]]:
    """Vhost name -> its stripped lines."""
    found = {}
    for block in re.findall(r"<VirtualHost [^>]+>\n(.*?)</VirtualHost>", config, re.S):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        name = next(line.split()[1] for line in lines if line.startswith("ServerName "))
        found[name] = lines
    return found


def test_without_a_session_cookie_no_vhost_tracks_cookies():
    config = render_role_template("apache_backends", TEMPLATE)
    assert list(vhosts(config)) == [f"be{n}" for n in range(1, 8)]
    assert "Cookie" not in config


def test_every_vhost_issues_the_session_cookie_when_one_is_named():
    config = render_role_template(
        "apache_backends", TEMPLATE, apache_backends_session_cookie="JSESSIONID"
    )
    found = vhosts(config)
    assert len(found) == 7
    for name, lines in found.items():
        assert "CookieTracking on" in lines, name
        assert "CookieName JSESSIONID" in lines, name
        assert f"DirectoryIndex {name}.html" in lines, "the answer stays the vhost's own"
