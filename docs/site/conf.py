# Sphinx settings of the collection's documentation (make docs): the pages
# antsibull-docs writes from the modules', plugins' and roles' own specs,
# in the Ansible theme. Offline: no intersphinx, whose inventories would be
# fetched from the network; the few places the generated pages link into
# Ansible's own documentation resolve to rst/ansible-references.rst.

project = "haproxy_peers_lab.lab"
copyright = "haproxy-peers-lab contributors"
title = "haproxy_peers_lab.lab"
html_short_title = "haproxy_peers_lab.lab"

extensions = ["sphinx_antsibull_ext"]

pygments_style = "ansible"
highlight_language = "YAML+Jinja"

html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

default_role = "any"
nitpicky = True
