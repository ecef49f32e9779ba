# make deps: install every package granule needs (scripts/deps.sh; apt-get, as root or via sudo).
# DEPS_CHECK is a prerequisite of `make run` / `make test`: a fast presence check that runs the
# installer only when something is missing.
.PHONY: deps deps-check
deps:
	scripts/deps.sh

deps-check:
	@scripts/deps.sh --check >/dev/null || scripts/deps.sh
