# haproxy-peers-lab: every command the README, docs/, CI and the tests use.
# `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV     := .venv
# The lab's defaults (LAB_DEBIAN, LAB_PROVIDER, LAB_LIBVIRT_DRIVER).
include lab.env
# Debian release of the lab and of `make image`: trixie (13), bookworm (12)
# or forky (testing, HAProxy 3.2).
DEBIAN   ?= $(LAB_DEBIAN)
# Vagrant provider of `make lab`: docker, libvirt or virtualbox.
PROVIDER ?= $(LAB_PROVIDER)
IMAGE_REPO := haproxy-peers-lab/debian
# libvirt's domain type for the VMs: qemu (software emulation, works
# everywhere, the build machine's choice) or kvm (hardware, much faster where
# it works). `make box` records it in .env.yml for `molecule test`.
LIBVIRT_DRIVER ?= $(LAB_LIBVIRT_DRIVER)
BOX := haproxy-peers-lab/debian-$(DEBIAN)

# The project's tools come first on PATH (Vagrant runs ansible-playbook from it).
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 22

# --- set-up -----------------------------------------------------------------

.PHONY: deps
deps: host-packages venv docker-engine ## Install what is missing: Debian packages, .venv, a running Docker engine

.PHONY: host-packages
host-packages:
	@scripts/install-host-packages

.PHONY: venv venv-lab
# .venv in two parts: what the lab runs (requirements-lab.txt: Ansible and
# peerlab), which make lab installs, and the rest of requirements.txt (the
# tests', the linters', the benchmarks'), which the other targets add.
venv: $(VENV)/.installed
venv-lab: $(VENV)/.installed-lab

# The checkout is also the collection haproxy_peers_lab.lab; a link in .venv
# puts it on the collections path (ansible.cfg), so the lab's playbooks find
# its plugins by their collection names as an installed collection would.
COLLECTION_LINK := $(VENV)/collections/ansible_collections/haproxy_peers_lab/lab
# Mitogen's strategy plugins at a path that does not name the Python
# version, for ansible.cfg and Molecule's config.
MITOGEN_LINK := $(VENV)/ansible_mitogen

# --no-compile: pip would byte-compile every file of every package (the
# ansible package alone ships thousands of modules that never run here), 22
# of the 30 s requirements-lab.txt takes from a warm cache; Python compiles
# what it imports on first use instead.
PIP_INSTALL := $(VENV)/bin/pip install -q --no-compile

$(VENV)/.installed-lab: requirements-lab.txt pyproject.toml
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -r requirements-lab.txt
	$(PIP_INSTALL) --no-deps -e .
	@mkdir -p $(dir $(COLLECTION_LINK)) && ln -sfn $(CURDIR) $(COLLECTION_LINK)
	@ln -sfn "$$($(VENV)/bin/python -c 'import ansible_mitogen, os; print(os.path.dirname(ansible_mitogen.__file__))')" $(MITOGEN_LINK)
	@touch $@

$(VENV)/.installed: requirements.txt $(VENV)/.installed-lab
	$(PIP_INSTALL) -r requirements.txt
	@touch $@

.PHONY: docker-engine
docker-engine:
	@scripts/ensure-docker

.PHONY: deps-vm
deps-vm: venv-lab ## What the VM providers need: Debian packages, a running libvirtd
	@scripts/install-host-packages vm
	@scripts/ensure-libvirt

.PHONY: box
box: deps-vm ## Build the local libvirt box (DEBIAN=...); skipped when up to date; writes .env.yml
	@images/libvirt/build $(DEBIAN)
	@printf '%s\n' '---' '# Written by `make box` for this machine; Molecule reads it.' \
	  'LAB_BOX: $(BOX)' 'LAB_LIBVIRT_DRIVER: $(LIBVIRT_DRIVER)' > .env.yml

.PHONY: image
image: host-packages docker-engine ## Build the local systemd+sshd image (DEBIAN=trixie|bookworm|forky); skipped when up to date
	@images/docker/build $(DEBIAN)

# --- the lab ----------------------------------------------------------------

.PHONY: lab
# When make started: make lab's total.
STARTED := $(shell date +%s)
# Each phase of make lab says when it starts and how long it took.
LAB_PHASE := scripts/phase "make lab"

lab: ## Bring the lab up and provision it (PROVIDER=docker|libvirt|virtualbox), then print its URLs
	@$(LAB_PHASE) "Debian packages" scripts/install-host-packages
ifeq ($(PROVIDER),docker)
	@# The image needs the engine, not the Python tools: both at once.
	@scripts/side-by-side python "scripts/phase 'make lab' 'Python tools (requirements-lab.txt)' \
	    $(MAKE) --no-print-directory venv-lab" \
	  image "scripts/phase 'make lab' 'Docker engine' scripts/ensure-docker && \
	    scripts/phase 'make lab' 'image $(IMAGE_REPO):$(DEBIAN)' images/docker/build $(DEBIAN)"
	@LAB_DEBIAN=$(DEBIAN) LAB_DOCKER_IMAGE=$(IMAGE_REPO):$(DEBIAN) scripts/lab-up docker
else ifeq ($(PROVIDER),libvirt)
	@$(LAB_PHASE) "Python tools (requirements-lab.txt)" $(MAKE) --no-print-directory venv-lab
	@$(LAB_PHASE) "box $(BOX)" $(MAKE) --no-print-directory box
	@LAB_BOX=$(BOX) LAB_LIBVIRT_DRIVER=$(LIBVIRT_DRIVER) scripts/lab-up libvirt
else
	@$(LAB_PHASE) "Python tools (requirements-lab.txt)" $(MAKE) --no-print-directory venv-lab
	@scripts/lab-up $(PROVIDER)
endif
	@echo "make lab: $$(( $$(date +%s) - $(STARTED) )) s in all"

.PHONY: demo
demo: venv-lab ## Run the original demo's narrative against the lab (peerlab demo; RESET=1 makes it fresh first)
	peerlab demo $(if $(RESET),--reset)

.PHONY: tables
tables: venv-lab ## Both load balancers' stick tables side by side (peerlab tables)
	peerlab tables

.PHONY: provision
provision: venv-lab ## Run playbooks/site.yml against the running lab again
	ansible-playbook playbooks/site.yml

.PHONY: lab-down
lab-down: ## Destroy the lab and every container and network it made
	@scripts/lab-down

# --- benchmarks -------------------------------------------------------------

.PHONY: bench
bench: deps ## Benchmarks on the docker lab (DEBIAN=...; brought up when not): bench/results/<date>-<release>/
	@scripts/install-host-packages bench
	@scripts/bench-lab $(DEBIAN)
	peerlab bench $(BENCH_ARGS)

# --- checks -----------------------------------------------------------------

.PHONY: lint
lint: venv ## yamllint, ansible-lint (production profile), ruff
	yamllint --strict .
	ansible-lint
	ruff check .
	ruff format --check .

.PHONY: unit
unit: venv ## Unit tests of the Python code and of the rendered configuration
	@scripts/install-host-packages unit
	pytest tests --ignore=tests/e2e --ignore=tests/collection --ignore=tests/gates

# galaxy-importer's pins clash with the lab's tools: a virtualenv of its own.
GATES_VENV := .venv-gates

$(GATES_VENV)/.installed: requirements-gates.txt
	@test -x $(GATES_VENV)/bin/python || python3 -m venv $(GATES_VENV)
	$(GATES_VENV)/bin/pip install -q -r requirements-gates.txt
	@touch $@

.PHONY: docs
docs: venv $(GATES_VENV)/.installed ## The collection's documentation from its own specs (antsibull-docs): docs/site/build/html
	@scripts/build-docs

.PHONY: gates
gates: venv $(GATES_VENV)/.installed ## The collection as built: ansible-test sanity and galaxy-importer (offline)
	pytest -p no:cacheprovider tests/gates

.PHONY: test-docker
test-docker: deps ## Molecule docker scenario on Debian 12, 13 and forky (HAProxy 2.6, 3.0, 3.2): forky, then 12 beside 13
	@images/docker/build forky
	@# Each release's scenario has machines and a network of its own. forky's,
	@# the longest (25 min beside Debian 13, 22 min for 13 beside it), runs
	@# alone while the labs' side runs the libvirt lab, whose emulated VMs
	@# take a core for their whole life (the next images build meanwhile);
	@# then Debian 12 and 13, the shorter two, side by side, when the labs'
	@# side runs no VM, so that neither side ends long before the other. A
	@# failed build runs again, in the open, before its scenario.
	@scripts/side-by-side forky "$(MAKE) --no-print-directory molecule-docker DEBIAN=forky" \
	  images "{ images/docker/build bookworm && images/docker/build trixie; } || \
	    echo 'images: built again before their scenarios'"
	@scripts/side-by-side bookworm "$(MAKE) --no-print-directory molecule-docker DEBIAN=bookworm" \
	  trixie "$(MAKE) --no-print-directory molecule-docker DEBIAN=trixie"

.PHONY: molecule-docker
# A release's /24 is where molecule/docker/host_vars/<release>-web.yml puts its
# web machine; its Molecule folder (inventory, state, the lab's PKI) is its own
# too, so that releases' scenarios can run at once from one checkout.
MOLECULE_NET = $(shell sed -nE 's/^private_ip: ([0-9]+[.][0-9]+[.][0-9]+)[.][0-9]+$$/\1/p' \
  molecule/docker/host_vars/$(DEBIAN)-web.yml 2>/dev/null)
MOLECULE_FOLDER = $(HOME)/.ansible/tmp/molecule.$(shell printf %s '$(CURDIR)' | sha1sum | cut -c1-8).docker-$(DEBIAN)
molecule-docker: deps
	@test -n "$(MOLECULE_NET)" || { echo "molecule-docker: no molecule/docker/host_vars/$(DEBIAN)-web.yml;" \
	  "DEBIAN is bookworm, trixie or forky" >&2; exit 2; }
	@images/docker/build $(DEBIAN)
	@# The TLS stage's strangers run the machine's own HAProxy; the clients
	@# stage drives the machine's own Chromium.
	@scripts/install-host-packages unit browser
	cgroups=$$(scripts/systemd-cgroups $(DEBIAN) peerlab-molecule-$(DEBIAN) web haproxy-1 haproxy-2) && \
	  env LAB_DEBIAN=$(DEBIAN) LAB_MOLECULE_NET=$(MOLECULE_NET) MOLECULE_EPHEMERAL_DIRECTORY=$(MOLECULE_FOLDER) \
	  $$cgroups molecule test -s docker

.PHONY: test-collection
test-collection: deps ## The built collection installed elsewhere, driving three load balancers of its own
	@images/docker/build $(DEBIAN)
	LAB_DEBIAN=$(DEBIAN) pytest -s -p no:cacheprovider tests/collection

.PHONY: test-vms
test-vms: venv box ## Molecule default scenario: the lab as libvirt VMs (molecule test)
	@scripts/molecule-vm-clean
	LAB_DEBIAN=$(DEBIAN) molecule test
	@scripts/molecule-vm-clean

.PHONY: test-lab
# The docker and the libvirt lab share the lab's addresses, its ports on
# 127.0.0.1 and the checkout's Vagrant state: one at a time (make test runs
# the docker and the VM stages side by side).
LAB_LOCK := $(CURDIR)/.lab.lock

test-lab: deps ## The Vagrant lab end to end (PROVIDER=...): make lab, the narrative on localhost, make lab-down
	flock $(LAB_LOCK) env PROVIDER=$(PROVIDER) pytest -s -p no:cacheprovider tests/e2e

.PHONY: test-quick
test-quick: lint unit ## Lint, unit tests and the docker scenario on Debian 13
	@$(MAKE) --no-print-directory molecule-docker DEBIAN=trixie

.PHONY: test-lab-libvirt
test-lab-libvirt: ## test-lab with PROVIDER=libvirt: the narrative, then the VM scenario's stages, on one bring-up
	@$(MAKE) --no-print-directory test-lab PROVIDER=libvirt

# Fast checks first, so a broken change fails in minutes (the first image
# builds meanwhile). Then two sides run at once, in two phases that keep the
# emulated VMs (a core for their whole life) beside one docker scenario, not
# two: the box, then the libvirt lab (which also runs the VM scenario's
# stages on its VMs) beside the forky scenario, the longest; then the
# collection's gates, the installed collection and the docker lab beside the
# Debian 12 and 13 scenarios. Their machines live on networks of their own; the
# two Vagrant labs take turns (LAB_LOCK). Every Debian package either side
# needs is installed before, so no two package installs run at once.
.PHONY: test
test: deps ## Everything CI runs: lint, unit, then the docker scenarios beside the labs
	@scripts/install-host-packages docker vm unit browser
	@# The first image builds beside the fast checks (set-up only: no stage
	@# runs on it before lint and the unit tests have passed). The box builds
	@# on the labs' side, which has minutes to spare, so that the docker
	@# side, the longer one, does not wait for it.
	@scripts/side-by-side checks "$(MAKE) --no-print-directory lint unit" \
	  image "images/docker/build forky"
	@scripts/side-by-side docker "$(MAKE) --no-print-directory test-docker" \
	  labs "$(MAKE) --no-print-directory box test-labs"

.PHONY: test-labs
# The libvirt lab first, beside test-docker's first scenario (its box built
# just before by make test, or here by make lab). Then the collection's gates (CPU:
# pylint, ansible-doc) beside the installed collection and the docker lab,
# whose containers share no address, port or name.
test-labs: ## The labs' half of make test: the libvirt lab, then the gates beside the collection and the docker lab
	@$(MAKE) --no-print-directory test-lab-libvirt
	@scripts/side-by-side gates "$(MAKE) --no-print-directory gates" \
	  labs "scripts/side-by-side collection '$(MAKE) --no-print-directory test-collection' \
	    docker-lab '$(MAKE) --no-print-directory test-lab'"
