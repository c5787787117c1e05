# marimo_erp: the targets PostgreSQL extension users expect.
#
#   make                  build (release)
#   make install          build and install into the server of PG_CONFIG
#   make installcheck     run the pg_regress suites against a running server
#                         (PGHOST/PGPORT/PGUSER) that has marimo_erp installed
#   make isolationcheck   run the isolation specs (pg_isolation_regress) likewise
#   make test             every test suite, on a throwaway cluster (README)
#   make demo             build, install, start a demo cluster and run the seed's examples (README)
#   make demo-stop        stop and remove the demo cluster
#   make clean

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
export PG_CONFIG

.PHONY: all build install installcheck isolationcheck test demo demo-stop clean

all: build

build:
	. scripts/lib.sh && ensure_toolchain && cargo build --release

install:
	. scripts/lib.sh && ensure_toolchain && MARIMO_RELEASE=1 install_extension

installcheck:
	scripts/installcheck

isolationcheck:
	scripts/isolationcheck

test:
	scripts/test

demo:
	scripts/demo

demo-stop:
	. scripts/lib.sh && dir="$$(cluster_dir demo)" && stop_cluster "$$dir" && as_root rm -rf "$$dir"

clean:
	cargo clean

# The benchmark suite (bench/README.md): builds a benchmark database, runs every
# scenario against native, reference and floor, writes bench/results/.
# Options through BENCH_ARGS, e.g. make bench BENCH_ARGS='--scale 2'.
.PHONY: bench
bench:
	bench/run $(BENCH_ARGS)
