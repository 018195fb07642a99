#!/usr/bin/python
"""molecule-plugins' ``vagrant`` module, made visible to Ansible.

molecule-plugins ships the module its vagrant driver's create/destroy
playbooks call inside the Python package, and Molecule no longer puts that
folder on Ansible's module path; newer releases expect a Galaxy collection
instead, which machines without Galaxy access cannot install. This file runs
the packaged module; Molecule's localhost plays use the same Python, so the
import resolves. molecule.yml points ANSIBLE_LIBRARY here.
"""

# Named here so that Ansible bundles it with this module: the bundled copy is
# the one that carries the task's arguments to the packaged module.
from ansible.module_utils.basic import AnsibleModule  # noqa: F401
from molecule_plugins.vagrant.modules.vagrant import main

if __name__ == "__main__":
    main()
