# marimo_erp: the targets PostgreSQL extension users expect.
#
#   make                  release build for the server of PG_CONFIG, staged under
#                         target/release/marimo_erp-pgNN/
#   make install          build and copy into the server of PG_CONFIG (or under DESTDIR)
#   make uninstall        remove what make install copies (under DESTDIR when set)
#   make package          a .deb and a tarball for the server of PG_CONFIG, in target/package/
#   make installcheck     run the pg_regress suites against a running server
#                         (PGHOST/PGPORT/PGUSER) that has marimo_erp installed
#   make isolationcheck   run the isolation specs (pg_isolation_regress) likewise
#   make test             every test suite, on a throwaway cluster (README)
#   make demo             build, install, start a demo cluster and run the seed's examples (README)
#   make demo-stop        stop and remove the demo cluster
#   make bench            the benchmark suite; options in BENCH_ARGS (bench/README.md)
#   make clean            remove target/
#
# make, make install, make uninstall and make package install nothing into the
# operating system: a missing tool is named with the way to get it. make demo
# and make test install what they need (README, "The two commands").
#
# Make runs recipes with /bin/sh (dash on Debian): each recipe calls one bash
# script and nothing else.

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
export PG_CONFIG
DESTDIR ?=

.PHONY: all build install uninstall package installcheck isolationcheck test demo demo-stop bench clean

all: build

build:
	scripts/build

install:
	DESTDIR='$(DESTDIR)' scripts/install

uninstall:
	DESTDIR='$(DESTDIR)' scripts/uninstall

package:
	scripts/package

installcheck:
	scripts/installcheck

isolationcheck:
	scripts/isolationcheck

test:
	scripts/test

demo:
	scripts/demo

demo-stop:
	scripts/demo-stop

clean:
	scripts/clean

# The benchmark suite (bench/README.md): builds a benchmark database, runs every
# scenario against native, reference and floor, writes bench/results/.
# Options through BENCH_ARGS, e.g. make bench BENCH_ARGS='--scale 2'.
bench:
	bench/run $(BENCH_ARGS)
