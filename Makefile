# Developer entry points of the isp_data_recurring addon (Odoo 18.0).
# The work is done by functions of scripts/odoo_env.sh; see that file for the
# environment knobs (ODOO_PYTHON, ISP_KEEP_TEST_DB, ISP_RUN_DB, UPDATE=1, ...).

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
ENV := . scripts/odoo_env.sh
# Rows per benchmark scenario: make bench N=10000
N ?= 1000

.PHONY: help test run radius lint bench clean distclean

help:
	@echo "make test       lint (pre-commit), plain suite, Odoo suite on a fresh database"
	@echo "make run        Odoo with demo data on http://127.0.0.1:8069 (db isp_demo, admin/admin)"
	@echo "make radius     FreeRADIUS on 127.0.0.1 for the demo (RADIUS_DB, RADIUS_AUTH_PORT, ...)"
	@echo "make lint       pre-commit on all files: ruff, pylint-odoo, OCA checks, prettier"
	@echo "make bench      benchmark against plain Odoo (N=1000; make bench N=10000)"
	@echo "make clean      remove .venv, .build and node_modules (distclean: also .pgdata)"

test:
	@$(ENV) && isp_test

run:
	@$(ENV) && isp_run

radius:
	@$(ENV) && isp_radius

lint:
	@ISP_ENV_DEFINE_ONLY=1 $(ENV) && isp_venv && isp_lint

bench:
	@$(ENV) && "$$ISP_PY" scripts/bench.py --n $(N)

clean:
	rm -rf .venv .build node_modules

distclean: clean
	@ISP_ENV_DEFINE_ONLY=1 $(ENV) && . scripts/ensure_pg.sh && isp_pg_stop; rm -rf .pgdata
