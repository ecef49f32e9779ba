# Host-side tests: generic mm/, lib/ and kernel/cmdline code compiled natively
# against a fake arch (tests/host/harness.c), printing KTAP like the kernel.
HOST_BUILD := build/host
HOST_CC ?= cc
HOST_CFLAGS := -std=gnu11 -O1 -g -I. -DHOST_TEST -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-missing-field-initializers -fno-strict-aliasing -MMD -MP
HOST_SRCS := mm/memmap.c mm/pmm.c mm/pgtable.c mm/gather.c mm/grace.c lib/ktap.c lib/parse.c lib/memzero.c lib/id_pool.c \
	kernel/cmdline.c arch/arm64/pt_format.c arch/arm64/tlbi.c arch/x86_64/pt_format.c \
	$(filter-out tests/host/bench.c tests/host/stress.c tests/host/explore.c,$(wildcard tests/host/*.c))
HOST_OBJS := $(patsubst %.c,$(HOST_BUILD)/%.o,$(HOST_SRCS)) $(HOST_BUILD)/lib/printf_renamed.o
# lib/printf.c beside libc: its entry points are renamed gr_* for the tests.
PRINTF_RENAME := -Dvsnprintf=gr_vsnprintf -Dsnprintf=gr_snprintf -Dprintf=gr_printf \
	-Dvprintf=gr_vprintf -Dconsole_puts=gr_console_puts -Dconsole_register=gr_console_register \
	-Dconsole_emergency=gr_console_emergency

$(HOST_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  HOSTCC  $<")
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -c $< -o $@

$(HOST_BUILD)/lib/printf_renamed.o: lib/printf.c
	@mkdir -p $(dir $@)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -fno-builtin $(PRINTF_RENAME) -c $< -o $@

$(HOST_BUILD)/host-tests: $(HOST_OBJS)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $^ -o $@

# make fuzz [FUZZ_SECONDS=60]: the differential fuzzer under libFuzzer with
# AddressSanitizer (clang). Findings land in build/host/fuzz-findings/.
FUZZ_SECONDS ?= 60
FUZZ_SRCS := mm/memmap.c mm/pmm.c mm/pgtable.c mm/gather.c mm/grace.c lib/ktap.c lib/memzero.c \
	arch/arm64/pt_format.c arch/x86_64/pt_format.c tests/host/harness.c tests/host/model.c \
	tests/host/fuzz_ops.c tests/host/fuzz_main.c $(HOST_BUILD)/lib/printf_renamed.o

$(HOST_BUILD)/fuzz-engine: $(filter %.c,$(FUZZ_SRCS)) $(HOST_BUILD)/lib/printf_renamed.o \
		$(wildcard mm/*.h arch/*.h tests/host/*.h)
	$(Q)clang -std=gnu11 -O1 -g -I. -DHOST_TEST -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined $(FUZZ_SRCS) -o $@

.PHONY: fuzz
fuzz: $(HOST_BUILD)/fuzz-engine
	@mkdir -p $(HOST_BUILD)/fuzz-corpus $(HOST_BUILD)/fuzz-findings
	$(HOST_BUILD)/fuzz-engine -max_total_time=$(FUZZ_SECONDS) -max_len=2048 \
		-artifact_prefix=$(HOST_BUILD)/fuzz-findings/ $(HOST_BUILD)/fuzz-corpus

# Engine bugs the explorer must catch: each tests/host/mutations/NAME.diff applied to a copy
# of mm/pgtable.c, linked into its own explorer (scripts/explore-mutants.sh runs them).
# Defined before test-host: a rule's prerequisites expand when make reads it.
MUTANTS := $(basename $(notdir $(wildcard tests/host/mutations/*.diff)))
MUTANT_BINS := $(MUTANTS:%=$(HOST_BUILD)/mutants/%/explore)

.PHONY: test-host
test-host: $(HOST_BUILD)/host-tests $(HOST_BUILD)/stress $(HOST_BUILD)/stress-asan \
		$(HOST_BUILD)/stress-tsan $(HOST_BUILD)/explore $(MUTANT_BINS)
	$(HOST_BUILD)/host-tests
	$(HOST_BUILD)/explore
	scripts/explore-mutants.sh $(HOST_BUILD)/mutants tests/host/mutations
	scripts/spin-check.sh
	$(HOST_BUILD)/stress $(STRESS_QUICK_MS)
	$(HOST_BUILD)/stress-asan $(STRESS_SANITIZER_MS)
	TSAN_OPTIONS="halt_on_error=1" $(HOST_BUILD)/stress-tsan $(STRESS_SANITIZER_MS)

# make stress [STRESS_MS=5000]: the multithreaded engine stress (tests/host/stress.c),
# STRESS_MS per page-table format, plain and under AddressSanitizer and ThreadSanitizer.
# make test-host runs the plain build for STRESS_QUICK_MS and both sanitizer builds for
# STRESS_SANITIZER_MS.
STRESS_MS ?= 5000
STRESS_QUICK_MS ?= 750
STRESS_SANITIZER_MS ?= 400
STRESS_SRCS := mm/memmap.c mm/pmm.c mm/pgtable.c mm/gather.c mm/grace.c lib/ktap.c lib/memzero.c \
	arch/arm64/pt_format.c arch/x86_64/pt_format.c tests/host/harness.c tests/host/model.c \
	tests/host/stress.c
STRESS_DEPS := $(STRESS_SRCS) $(HOST_BUILD)/lib/printf_renamed.o $(wildcard mm/*.h arch/*.h lib/*.h \
	tests/host/*.h)
STRESS_CFLAGS := -std=gnu11 -g -I. -DHOST_TEST -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-missing-field-initializers -fno-strict-aliasing -pthread

$(HOST_BUILD)/stress: $(STRESS_DEPS)
	$(Q)$(HOST_CC) $(STRESS_CFLAGS) -O1 $(STRESS_SRCS) $(HOST_BUILD)/lib/printf_renamed.o -o $@

$(HOST_BUILD)/stress-asan: $(STRESS_DEPS)
	$(Q)$(HOST_CC) $(STRESS_CFLAGS) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer $(STRESS_SRCS) $(HOST_BUILD)/lib/printf_renamed.o -o $@

$(HOST_BUILD)/stress-tsan: $(STRESS_DEPS)
	$(Q)$(HOST_CC) $(STRESS_CFLAGS) -O1 -fsanitize=thread $(STRESS_SRCS) \
		$(HOST_BUILD)/lib/printf_renamed.o -o $@

.PHONY: stress stress-asan stress-tsan
stress: $(HOST_BUILD)/stress
	$(HOST_BUILD)/stress $(STRESS_MS)

stress-asan: $(HOST_BUILD)/stress-asan
	$(HOST_BUILD)/stress-asan $(STRESS_MS)

# halt_on_error: any report fails the run, not only the end status.
stress-tsan: $(HOST_BUILD)/stress-tsan
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" $(HOST_BUILD)/stress-tsan $(STRESS_MS)

-include $(HOST_OBJS:.o=.d)

# The interleaving explorer (tests/host/explore.c): cooperative threads on one OS thread,
# every schedule within a preemption bound plus PCT random ones. make test-host runs the
# bounded set; make explore [EXPLORE_ARGS=...] runs it with larger bounds.
EXPLORE_SRCS := mm/memmap.c mm/pmm.c mm/gather.c mm/grace.c lib/ktap.c lib/memzero.c \
	arch/arm64/pt_format.c arch/x86_64/pt_format.c tests/host/harness.c tests/host/model.c \
	tests/host/explore.c
EXPLORE_DEPS := $(EXPLORE_SRCS) mm/pgtable.c $(HOST_BUILD)/lib/printf_renamed.o \
	$(wildcard mm/*.h arch/*.h lib/*.h tests/host/*.h)
EXPLORE_CFLAGS := -std=gnu11 -O1 -g -I. -DHOST_TEST -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-missing-field-initializers -fno-strict-aliasing
EXPLORE_ARGS ?= --preemptions 3 --cap 30000 --pct-runs 2000

$(HOST_BUILD)/explore: $(EXPLORE_DEPS)
	$(Q)$(HOST_CC) $(EXPLORE_CFLAGS) $(EXPLORE_SRCS) mm/pgtable.c $(HOST_BUILD)/lib/printf_renamed.o \
		-o $@


$(HOST_BUILD)/mutants/%/pgtable.c: tests/host/mutations/%.diff mm/pgtable.c
	@mkdir -p $(dir $@)
	$(Q)cp mm/pgtable.c $@ && patch -s --no-backup-if-mismatch $@ < $< || { rm -f $@; exit 1; }

$(HOST_BUILD)/mutants/%/explore: $(HOST_BUILD)/mutants/%/pgtable.c $(EXPLORE_DEPS)
	$(Q)$(HOST_CC) $(EXPLORE_CFLAGS) $(EXPLORE_SRCS) $< $(HOST_BUILD)/lib/printf_renamed.o -o $@

# make spin-check: the VMM's fault/invalidate protocol (vmm/fault_protocol.pml) under SPIN,
# the model as the C is and each mutant that must fail (docs/fault-protocol.md).
.PHONY: spin-check
spin-check:
	scripts/spin-check.sh

.PHONY: explore explore-mutants
explore: $(HOST_BUILD)/explore $(MUTANT_BINS)
	$(HOST_BUILD)/explore $(EXPLORE_ARGS)
	scripts/explore-mutants.sh $(HOST_BUILD)/mutants tests/host/mutations

explore-mutants: $(MUTANT_BINS)
	scripts/explore-mutants.sh $(HOST_BUILD)/mutants tests/host/mutations

# make bench-mm: the engine benchmarks under callgrind (deterministic instruction
# counts), with entry counting + reclaim compiled in and out side by side.
BENCH_SRCS := mm/memmap.c mm/pmm.c mm/pgtable.c mm/gather.c mm/grace.c lib/ktap.c lib/memzero.c \
	arch/arm64/pt_format.c \
	arch/x86_64/pt_format.c tests/host/harness.c tests/host/bench.c
BENCH_CFLAGS := -std=gnu11 -O2 -g -I. -fno-tree-vectorize -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-missing-field-initializers

$(HOST_BUILD)/bench-mm: $(BENCH_SRCS) $(wildcard mm/*.h arch/*.h tests/host/*.h)
	@mkdir -p $(dir $@)
	$(Q)$(HOST_CC) $(BENCH_CFLAGS) $(BENCH_SRCS) -o $@

$(HOST_BUILD)/bench-mm-nocount: $(BENCH_SRCS) $(wildcard mm/*.h arch/*.h tests/host/*.h)
	@mkdir -p $(dir $@)
	$(Q)$(HOST_CC) $(BENCH_CFLAGS) -DPT_COUNT_ENTRIES=0 $(BENCH_SRCS) -o $@

.PHONY: bench-mm
bench-mm: $(HOST_BUILD)/bench-mm $(HOST_BUILD)/bench-mm-nocount
	python3 scripts/bench-mm.py $(HOST_BUILD)/bench-mm $(HOST_BUILD)/bench-mm-nocount
