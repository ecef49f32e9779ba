/* SPDX-License-Identifier: MIT */
/*
 * A model of what real CPUs may cache, to catch what no emulator here does:
 *  - per simulated CPU, a TLB of leaf translations and a walk cache of table
 *    pointers, filled by simulated accesses and emptied only by the engine's
 *    own invalidations (the regime below), each dropping only what its TTL
 *    hint says may be cached (leaves at the hinted level, table entries above
 *    it), so a wrong hint leaves a stale entry;
 *  - a break-before-make checker that sees every store to a reachable entry
 *    and applies the Arm ARM rules independently of the engine's own
 *    classification.
 */
#ifndef TESTS_HOST_MODEL_H
#define TESTS_HOST_MODEL_H

#include "mm/pgtable.h"

#define MODEL_CPUS 4

/* The regime whose invalidations the model sees. */
extern const struct pt_regime model_regime;

/*
 * Forgets every cached translation and violation. With arm_rules, stores are
 * checked against the Arm break-before-make rules for FEAT_BBM bbm_level (0-2).
 */
void model_reset(unsigned bbm_level, bool arm_rules);
/*
 * CPU cpu accesses va: caches the leaf translation and the tables on its path.
 * Returns false for a fault (no valid translation).
 */
bool model_touch(const struct pgtable *pt, unsigned cpu, u64 va);
/*
 * When >= 0, this CPU accesses every entry of the model regime right after it
 * is written, before the next store or invalidation: the worst interleaving
 * for a concurrent reader. model_racer_faults counts the accesses that found
 * no translation (a break's window).
 */
extern int model_racer_cpu;
extern u64 model_racer_faults;
/*
 * Counts cached translations that differ from the tables now (stale TLB or
 * walk-cache entries), printing the first few as KTAP diagnostics.
 */
unsigned model_stale(const struct pgtable *pt);
/* The same, for the walk caches alone (cached table entries). */
unsigned model_stale_walks(const struct pgtable *pt);
/*
 * TLB conflicts seen since model_reset() (two sizes cached for one address):
 * recovered by a local flush, as the kernel's abort handler does; a violation
 * too below FEAT_BBM level 2.
 */
extern unsigned model_tlb_conflicts;
/* Break-before-make violations seen since model_reset(). */
unsigned model_bbm_violations(void);
/* Invalidation counts, for tests on batching. */
struct model_stats {
	u64 range_flushes, full_flushes, stores;
};
extern struct model_stats model_stats;

#endif
