# Developer entry points of the isp_data_recurring addon (Odoo 18.0).
# The work is done by functions of scripts/odoo_env.sh; see that file for the
# environment knobs (ODOO_PYTHON, ISP_KEEP_TEST_DB, ISP_RUN_DB, UPDATE=1, ...).

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
ENV := . scripts/odoo_env.sh
# Rows per benchmark scenario: make bench N=10000
N ?= 1000

.PHONY: help setup test run lint bench clean distclean

help:
	@echo "make setup      .venv, Odoo detection, PostgreSQL, .build/odoo.conf"
	@echo "make test       static checks, ruff, plain suite, Odoo suite (fresh db)"
	@echo "make run        Odoo with demo data on http://127.0.0.1:8069 (db isp_demo, admin/admin)"
	@echo "make lint       ruff check ."
	@echo "make bench      benchmark against plain Odoo (N=1000; make bench N=10000)"
	@echo "make clean      remove .venv and .build (distclean: also stop and remove .pgdata)"

setup:
	@$(ENV)

test:
	@$(ENV) && isp_test

run:
	@$(ENV) && isp_run

lint:
	@ISP_ENV_DEFINE_ONLY=1 $(ENV) && isp_venv && isp_lint

bench:
	@if [ -f scripts/bench.py ]; then \
		$(ENV) && "$$ISP_PY" scripts/bench.py --n $(N); \
	else \
		echo "make bench: scripts/bench.py does not exist yet, nothing to run"; \
	fi

clean:
	rm -rf .venv .build

distclean: clean
	@if [ -d .pgdata ]; then scripts/ensure_pg.sh --stop; fi
	rm -rf .pgdata
