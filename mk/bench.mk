# make bench-vmm   the postcopy demo under QEMU -icount (deterministic instruction-based ticks):
#                  instructions per 4K fault round trip, HGM vs 2M vs 1G fault latency, page-table
#                  memory after a discard; prints a markdown table (docs/benchmarks.md, VMM).
#                  BENCH_VMM_ARGS='--runs 2' also checks that two runs print the same figures.
BENCH_VMM_ARGS ?=

.PHONY: bench-vmm
bench-vmm: deps-check $(RUN_KERNEL)
	python3 scripts/bench-vmm.py --arch $(ARCH) --kernel $(RUN_KERNEL) $(BENCH_VMM_ARGS)
