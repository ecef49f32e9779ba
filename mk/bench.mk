# make bench-vmm   the postcopy demo under QEMU -icount (deterministic instruction-based ticks):
#                  instructions per 4K fault round trip, HGM vs 2M vs 1G fault latency, page-table
#                  memory after a discard; prints a markdown table (docs/benchmarks.md, VMM).
#                  BENCH_VMM_ARGS='--runs 2' also checks that two runs print the same figures.
BENCH_VMM_ARGS ?=

.PHONY: bench-vmm
bench-vmm: deps-check $(RUN_KERNEL)
	python3 scripts/bench-vmm.py --arch $(ARCH) --kernel $(RUN_KERNEL) $(BENCH_VMM_ARGS)

# make bbm-study   the break-before-make timing study (docs/bbm-study.md): boots the arm64 Image
#                  with bbm_study=$(BBM_STUDY_ROUNDS) under QEMU -icount once per configuration
#                  (-cpu max at FEAT_BBM level 2, 1 and 0 by policy, cortex-a72, neoverse-n1),
#                  writes build/bbm-study/*.csv and *.png, and rewrites the summary table and the
#                  plots in docs/bbm-study.md and docs/bbm-study/. BBM_STUDY_ARGS passes options
#                  to scripts/bbm-study.py, e.g. '--repeat 2' (determinism); BBM_STUDY_CONFIGS
#                  chooses the configurations (x86-max, not by default, builds ARCH=x86_64 too).
# The plots need Debian's python3-matplotlib, which belongs to the system interpreter: prefer it
# over another python3 earlier in PATH.
BBM_STUDY_ROUNDS ?= 1
BBM_STUDY_ARGS ?=
BBM_STUDY_CONFIGS ?= max-bbm2,max-bbm1,max-bbm0,a72-bbm0,n1-bbm0
BBM_STUDY_PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)

.PHONY: bbm-study
bbm-study: deps-check
	$(MAKE) --no-print-directory ARCH=arm64 all
	$(if $(findstring x86,$(BBM_STUDY_CONFIGS)),$(MAKE) --no-print-directory ARCH=x86_64 all)
	$(BBM_STUDY_PYTHON) scripts/bbm-study.py --rounds $(BBM_STUDY_ROUNDS) \
		--configs $(BBM_STUDY_CONFIGS) \
		--kernel build/arm64/Image --kernel-x86 build/x86_64/granule.elf \
		--update-doc docs/bbm-study.md $(BBM_STUDY_ARGS)

# make bench-masked   the longest interrupt-masked section of the engine for 1 GiB of 4K pages
#                     (unmap, map, collapse, split; tests/kernel/test_kpt.c) under QEMU -icount
#                     shift=0: a build with -DPT_MEASURE_MASKED in build/masked-$(ARCH), one CPU.
MASKED_BUILD := build/masked-$(ARCH)
ifeq ($(ARCH),arm64)
MASKED_KERNEL := $(MASKED_BUILD)/Image
MASKED_CPU := max
else
MASKED_KERNEL := $(MASKED_BUILD)/granule.elf
MASKED_CPU := max,+svm,+npt
endif

.PHONY: bench-masked
bench-masked: deps-check
	$(MAKE) --no-print-directory ARCH=$(ARCH) BUILD=$(MASKED_BUILD) KCFLAGS=-DPT_MEASURE_MASKED \
		$(MASKED_KERNEL)
	scripts/qemu-boot.sh --smp 1 --mem 3G --cpu $(MASKED_CPU) --accel tcg,thread=single \
		$(ARCH) $(MASKED_KERNEL) "test=kpt" -- -icount shift=0,align=off | grep -E "masked|ok"
