# make deps: placeholder until scripts/deps.sh lands.
.PHONY: deps
deps:
	@echo "deps: not written yet"
