/* SPDX-License-Identifier: MIT */
/*
 * The break-before-make study (bbm_study on the command line; make bbm-study
 * runs it under QEMU -icount and on boards, docs/bbm-study.md).
 *
 * For each HVO strategy this CPU can use, one 2 MiB huge page is optimized and
 * restored again and again while every other CPU reads struct pages across
 * the whole 2M vmemmap block around it (so every split and collapse of that
 * block, not only the tail remaps, is seen by readers). Each optimize and each
 * restore is one sample, printed as a CSV row:
 *
 *   bbm-study,<level>,<strategy>,<op>,<round>,<latency>,<breaks>,<break_sum>,
 *     <break_max>,<nt>,<direct>,<fixups>,<fixup_sum>,<fixup_max>,
 *     <rendezvous_ticks>,<tlbi>,<barriers>,<ipis>
 *
 * Times are counter ticks: instruction-based under -icount (deterministic),
 * real on a board (the header line gives the frequency).
 */
#include "kernel/bbm_study.h"
#include "arch/arch.h"
#include "kernel/cmdline.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "lib/errno.h"
#include "lib/printf.h"
#include "mm/huge_page.h"
#include "mm/hvo.h"
#include "mm/kmap.h"
#include "mm/pgtable.h"
#include "mm/pmm.h"

static struct {
	const volatile u8 *start;
	u64 bytes;
	struct smp_crew crew;
	u64 reads;
} readers;

/* Another CPU: a word every 256 bytes of the vmemmap block, round and round. */
static void reader(void *arg)
{
	u64 sum = 0;

	(void)arg;
	while (!smp_crew_stopping(&readers.crew)) {
		for (u64 off = 0; off < readers.bytes; off += 256)
			sum += readers.start[off];
		__atomic_fetch_add(&readers.reads, readers.bytes / 256, __ATOMIC_RELAXED);
		/* Once a pass, as a spinning CPU would: under -icount it lets the others run. */
		arch_cpu_relax();
	}
	(void)sum;
}

/* Readers on every other CPU, in thread context: they take IPIs (rendezvous, x86 shootdowns). */
static unsigned start_readers(paddr_t huge)
{
	readers.start = (const volatile u8 *)ALIGN_DOWN((u64)(uintptr_t)pa_to_page(huge), MiB(2));
	readers.bytes = MiB(2);
	return smp_crew_start(&readers.crew, reader, NULL);
}

struct sample {
	struct hvo_stats hvo;
	struct arch_tlb_counts tlb;
	u64 start;
};

static void sample_begin(struct sample *s)
{
	hvo_reset_peaks();
	hvo_get_stats(&s->hvo);
	arch_tlb_counts(&s->tlb);
	s->start = arch_counter_read();
}

static void sample_end(const struct sample *s, const char *strategy, const char *op, unsigned round)
{
	u64 latency = arch_counter_read() - s->start;
	struct arch_tlb_counts tlb;
	struct hvo_stats h;

	hvo_get_stats(&h);
	arch_tlb_counts(&tlb);
	printf("bbm-study,%u,%s,%s,%u,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,"
	       "%llu\n",
	       kmap_pgtable()->bbm_level, strategy, op, round, (unsigned long long)latency,
	       (unsigned long long)(h.breaks - s->hvo.breaks),
	       (unsigned long long)(h.break_ticks - s->hvo.break_ticks),
	       (unsigned long long)h.break_ticks_max,
	       (unsigned long long)(h.nt_sequences - s->hvo.nt_sequences),
	       (unsigned long long)(h.direct_resizes - s->hvo.direct_resizes),
	       (unsigned long long)(h.fixup_waits - s->hvo.fixup_waits),
	       (unsigned long long)(h.fixup_wait_ticks - s->hvo.fixup_wait_ticks),
	       (unsigned long long)h.fixup_wait_ticks_max,
	       (unsigned long long)(h.rendezvous_ticks - s->hvo.rendezvous_ticks),
	       (unsigned long long)(tlb.invalidations - s->tlb.invalidations),
	       (unsigned long long)(tlb.barriers - s->tlb.barriers),
	       (unsigned long long)(tlb.ipis - s->tlb.ipis));
}

/* The strategy's letter, as the CSV and hvo= name it. */
static char letter(enum hvo_strategy s)
{
	return (char)('a' + (s - HVO_RENDEZVOUS));
}

static int study_strategy(enum hvo_strategy s, unsigned rounds)
{
	char name[2] = {letter(s), 0};
	struct sample smp;
	unsigned nreaders;
	paddr_t pa;

	pa = huge_page_alloc(ORDER_2M);
	if (!pa_addr(pa) || !hvo_is_optimized(pa)) {
		printf("bbm-study: strategy %s: could not optimize a 2 MiB page\n", name);
		if (pa_addr(pa))
			huge_page_free(pa, ORDER_2M);
		return ERR_NOMEM;
	}
	nreaders = start_readers(pa);
	for (unsigned round = 0; round < rounds; round++) {
		sample_begin(&smp);
		hvo_restore(pa, ORDER_2M);
		sample_end(&smp, name, "restore", round);
		sample_begin(&smp);
		hvo_optimize(pa, ORDER_2M);
		sample_end(&smp, name, "optimize", round);
	}
	smp_crew_stop(&readers.crew);
	printf("bbm-study: strategy %s: %u rounds, %u readers, %llu reads\n", hvo_strategy_name(s),
	       rounds, nreaders, (unsigned long long)readers.reads);
	readers.reads = 0;
	huge_page_free(pa, ORDER_2M);
	return 0;
}

int bbm_study_run(unsigned rounds)
{
	enum hvo_strategy saved = hvo_strategy();
	int rc = 0;

	printf("bbm-study: FEAT_BBM level %u, %u CPUs, counter %llu Hz, %u rounds\n",
	       kmap_pgtable()->bbm_level, smp_online_count(),
	       (unsigned long long)arch_counter_freq(), rounds);
	printf("bbm-study,level,strategy,op,round,latency,breaks,break_sum,break_max,nt,direct,"
	       "fixups,fixup_sum,fixup_max,rendezvous,tlbi,barriers,ipis\n");
	for (unsigned s = HVO_RENDEZVOUS; s < HVO_STRATEGIES; s++) {
		int err;

		if (!hvo_set_strategy((enum hvo_strategy)s)) {
			printf("bbm-study: strategy %s: not usable on this CPU: %s\n",
			       hvo_strategy_name(s), hvo_strategy_unusable(s));
			continue;
		}
		err = study_strategy((enum hvo_strategy)s, rounds);
		if (!rc)
			rc = err; /* the first error */
	}
	hvo_set_strategy(saved);
	printf("bbm-study: done\n");
	return rc;
}
