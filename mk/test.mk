# make test   build both architectures, run the host tests, the runner's own tests and the boot
#             matrix (tests/run/matrix.cfg); ends with one line "N passed, N failed".
#             ACCEL=kvm runs the matrix under KVM where /dev/kvm can run a guest (else it skips,
#             saying why). RUNNER_ARGS passes options to tests/run/runner.py, e.g.
#             RUNNER_ARGS='--config "arm64-*" -j 2'. HOST_TESTS=n leaves the host tests out (they
#             do not depend on the accelerator: .ci/run runs them once, in the TCG pass).
# make test-cpus   every CPU model (matrix group cpus: QEMU TCG, KVM where /dev/kvm runs a guest,
#             Bochs), outside make test; writes docs/cpu-models.md from what ran.
# make run    build ARCH and boot the default demo under QEMU, serial on this terminal.
#             CMDLINE='test=all' boots something else; Ctrl-A X leaves QEMU.
# make debug  the same boot paused with QEMU's gdbstub, and gdb-multiarch attached with the
#             symbols of $(BUILD)/granule.elf (scripts/gdb/).
TEST_ARCHES := arm64 x86_64
RUNNER := python3 tests/run/runner.py
RUNNER_ARGS ?=
# The host tests print KTAP (lib/ktap.c); the runner counts them with the boots.
HOST_TEST_CMD := $(MAKE) --no-print-directory -s test-host
HOST_TESTS ?= y
HOST_TEST_ARGS := $(if $(filter n,$(HOST_TESTS)),,--host '$(HOST_TEST_CMD)')

ifeq ($(ARCH),arm64)
RUN_KERNEL := $(BUILD)/Image
# Five CPUs: the demo's four vCPUs on four of them, the postcopy mover on the fifth.
RUN_QEMU_ARGS := --smp 5 --mem 3G --cpu max
else
RUN_KERNEL := $(BUILD)/granule.elf
RUN_QEMU_ARGS := --smp 4 --mem 3G --cpu max,+svm,+npt
endif
CMDLINE ?= demo
DEBUG_TIMEOUT ?= 3600

.PHONY: test test-cpus run debug
# A failed build is counted (and reported) by the runner, so the run still ends with its line;
# -k still builds the images that do not depend on the broken part, and their configs run.
test: deps-check
	@set --; \
	for a in $(TEST_ARCHES); do \
		echo "test: make ARCH=$$a"; \
		$(MAKE) -k --no-print-directory ARCH=$$a all || set -- "$$@" --fail "make ARCH=$$a failed"; \
	done; \
	echo "test: make guests"; \
	$(MAKE) -k --no-print-directory guests || set -- "$$@" --fail "make guests failed"; \
	$(if $(filter n,$(HOST_TESTS)),echo "test: host tests not run (HOST_TESTS=n)";) \
	$(RUNNER) --accel $(ACCEL) --selftest $(HOST_TEST_ARGS) "$$@" $(RUNNER_ARGS)

CPU_TABLES := $(BUILD)/cpu-models-tcg.md $(BUILD)/cpu-models-kvm.md
test-cpus: deps-check
	@for a in $(TEST_ARCHES); do $(MAKE) --no-print-directory ARCH=$$a all || exit 1; done
	@rm -f $(CPU_TABLES); rc=0; \
	$(RUNNER) --group cpus --cpu-table $(BUILD)/cpu-models-tcg.md $(RUNNER_ARGS) || rc=1; \
	$(RUNNER) --group cpus --accel kvm --arch x86_64 --cpu-table $(BUILD)/cpu-models-kvm.md \
		$(RUNNER_ARGS) || rc=1; \
	cat tests/run/cpu-models-intro.md $(CPU_TABLES) > docs/cpu-models.md; \
	echo "test-cpus: wrote docs/cpu-models.md"; exit $$rc

run: deps-check $(RUN_KERNEL)
	scripts/qemu-boot.sh --interactive $(RUN_QEMU_ARGS) \
		$(ARCH) $(RUN_KERNEL) "$(CMDLINE)"

debug: deps-check $(RUN_KERNEL) $(BUILD)/granule.elf
	DEBUG_TIMEOUT=$(DEBUG_TIMEOUT) scripts/gdb/debug.sh $(ARCH) $(RUN_KERNEL) \
		$(BUILD)/granule.elf "$(CMDLINE)" $(RUN_QEMU_ARGS)
