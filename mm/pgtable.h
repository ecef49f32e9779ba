/* SPDX-License-Identifier: MIT */
/*
 * The page-table engine: one walker over any format (arch/pt_format.h), with
 * operations written as visitors. Every table page's struct page holds its
 * level and an exact count of valid entries; a table emptied by unmap is
 * detached and freed after the invalidation that made it unreachable.
 *
 * Concurrency: the one rule for a live entry.
 *
 *  1. Who may change an entry. Only the holder of the lock of the table that
 *     holds it (struct page.pt_lock), with one exception: an empty entry above
 *     level 0 may become a table without any lock, by compare-and-swap from
 *     its empty value (a "lockless installer": the demand-fault descent of
 *     pt_map() for one leaf, and any walk that needs a missing table). No
 *     other store happens without the lock, and no lockless store ever
 *     changes a non-empty entry.
 *  2. How a change is made. The walker reads each entry once, under its
 *     table's lock, into the visit's snapshot (struct pt_entry.old); a visitor
 *     decides from the snapshot and never reads the entry again. Every store
 *     is made from the snapshot by entry_update() (mm/pgtable.c): a
 *     compare-and-swap when the snapshot is empty and above level 0, the one
 *     value an installer can take away, a plain store otherwise, since by (1)
 *     nobody else can change a non-empty entry or a level-0 entry meanwhile.
 *     A failed compare-and-swap means a table appeared: the walker takes a
 *     new snapshot and visits the entry again. Whenever a table's lock is
 *     dropped and taken again (a walk into a child), the snapshot is retaken.
 *  3. What the locks protect. A table's lock: its entries' changes and its
 *     valid-entry count (installers reserve a count atomically first, so a
 *     table with a reservation is never detached as empty). Two locks are held
 *     together only as parent then child (collapse, reclaim). A detached table
 *     is marked dead under its own lock; locking a dead table fails and the
 *     caller goes back to the parent entry.
 *  4. What lockless readers see (pt_translate(), the lockless descent, the
 *     CPUs' own table walkers): each entry's value before or after a store,
 *     never a torn one; during break-before-make, PT_BREAK_MARKER, invalid and
 *     not empty, so no installer takes it; a table only after its contents
 *     (release stores, acquire loads); a detached table only until their
 *     grace-period read section ends (mm/grace.h), as it is freed after it.
 *  5. Invalidations are never waited for under a table lock except inside a
 *     break-before-make (break, invalidate, make) and the settling of another
 *     walk's pending invalidation; interrupts are masked only while a table
 *     lock is held, so every masked section is bounded by one table's entries
 *     (a walk drops and retakes the lock after an entry whose visit worked
 *     through a whole child table: a split or a collapse). A CPU waiting for
 *     a table lock serves the cross-CPU calls it is waited for meanwhile
 *     (cpu_wait_relax(), arch/arch.h): the holder may be waiting for it.
 *
 * Errors follow lib/errno.h: 0, or ERR_NOMEM / ERR_INVAL.
 */
#ifndef MM_PGTABLE_H
#define MM_PGTABLE_H

#include "arch/pt_format.h"
#include "lib/errno.h"
#include "lib/spinlock.h"
#include "mm/page.h"

struct pgtable;
struct pt_gather;

/*
 * A translation regime: how its TLBs are invalidated. Which live changes need
 * a break is the format's rule (pt_format.classify_live).
 */
struct pt_regime {
	const char *name;
	/* Invalidates [va, va + size); level is the leaf level of all of it, or ~0u. */
	void (*flush_range)(const struct pgtable *pt, u64 va, u64 size, unsigned level);
	void (*flush_all)(const struct pgtable *pt);
	/* Makes entries written so far visible to the table walkers (arm64: DSB ISHST; ISB). */
	void (*publish)(const struct pgtable *pt);
};

/*
 * When tables emptied by unmap are freed. Immediate frees them in the same
 * operation; deferred leaves them for pt_reclaim_scan() (run later, or when
 * memory is short), which avoids free-then-refault churn when the range is
 * about to be mapped again; off never frees them automatically.
 */
enum pt_reclaim {
	PT_RECLAIM_IMMEDIATE,
	PT_RECLAIM_DEFERRED,
	PT_RECLAIM_OFF,
};

/*
 * What the live-entry sequences of a pgtable cost, when its owner asks
 * (pgtable.live_stats, NULL otherwise): the break-before-make study's source.
 * Ticks are arch_counter_read() units, from the break's store to the make's.
 */
struct pt_live_stats {
	u64 breaks, break_ticks, break_ticks_max;
	u64 nt_sequences;   /* FEAT_BBM level 1 resizes */
	u64 direct_resizes; /* FEAT_BBM level 2 (or x86) resizes */
};

struct pgtable {
	const struct pt_format *fmt;
	const struct pt_regime *regime;
	paddr_t root;
	enum pt_reclaim reclaim;
	/*
	 * The FEAT_BBM level splits and collapses may rely on (format.resize):
	 * arch_pt_bbm_level() at pt_init(); lower it for a stricter sequence.
	 */
	u8 bbm_level;
	u64 tables;	 /* table pages currently in the tree, root included (atomic) */
	u64 tables_peak; /* atomic */
	/*
	 * Walks holding invalidations they have not issued yet (atomic). A
	 * writer about to make an empty entry valid while this is non-zero
	 * invalidates the entry itself first: the entry may have been cleared
	 * by one of them and still be cached (break-before-make across writers).
	 */
	u32 unflushed;
	u64 leaf_attr_memo; /* the last leaf attributes encoded, with their key (atomic) */
	struct pt_live_stats *live_stats; /* optional; updated by whoever holds the entry's lock */
	void *owner;			  /* regime-private: VMID / ASID holder */
};

/* An entry handle: what visitors receive and operations pass around. */
struct pt_entry {
	u64 *ptep;
	u64 va; /* first address the entry translates */
	unsigned level;
	struct page *table; /* the table page holding the entry */
	u64 old;	    /* the snapshot: the entry's value the visit decides on (rule 2) */
};

/* Flags for pt_map(). */
#define PT_MAP_MAX_LEVEL(l) ((l) + 1) /* leaves no larger than level l (0 = 4K only) */

int pt_init(struct pgtable *pt, const struct pt_format *fmt, const struct pt_regime *regime);
/* Unmaps everything and frees every table page, the root included. */
void pt_destroy(struct pgtable *pt);

/*
 * Maps [va, va + size) to [pa, pa + size) with attrs, using the largest leaves
 * that alignment and the format allow (capped by PT_MAP_MAX_LEVEL in flags).
 * Existing leaves in the range are replaced (live rules apply); existing
 * tables are kept and filled. All or nothing: the table pages the map may
 * need are allocated before any entry changes, so it returns 0, ERR_NOMEM
 * having changed no translation, or ERR_INVAL on a bad range. (One leaf, the
 * demand-fault path, installs its tables on the way down instead: out of
 * memory it may leave empty tables behind, which unmap or a reclaim scan
 * frees; never a translation.)
 */
int pt_map(struct pgtable *pt, u64 va, paddr_t pa, u64 size, struct pt_attrs attrs, unsigned flags);
/*
 * Removes every translation in the range; tables left empty are reclaimed.
 * ERR_NOMEM (splitting a block the range covers in part) stops the walk
 * there: what lies before is unmapped, tables it emptied wait for a reclaim
 * scan, the rest is unchanged. Protect and split stop the same way.
 */
int pt_unmap(struct pgtable *pt, u64 va, u64 size);
/* Detaches and frees every empty table in the range (any reclaim policy). */
int pt_reclaim_scan(struct pgtable *pt, u64 va, u64 size);
/* Changes the attributes of every valid leaf in the range, splitting partial blocks. */
int pt_protect(struct pgtable *pt, u64 va, u64 size, struct pt_attrs attrs);
/* Splits leaves above level down to level, only where they intersect the range. */
int pt_split(struct pgtable *pt, u64 va, u64 size, unsigned level);
/* Replaces every table in the range whose entries form one uniform run by a leaf. */
int pt_collapse(struct pgtable *pt, u64 va, u64 size);
/*
 * pt_split() and pt_collapse() resizing live entries with the sequence of
 * FEAT_BBM level bbm_level at most (0: break-before-make), for callers that
 * choose a stricter sequence than the CPU needs (mm/hvo.c's strategies).
 */
int pt_split_bbm(struct pgtable *pt, u64 va, u64 size, unsigned level, unsigned bbm_level);
int pt_collapse_bbm(struct pgtable *pt, u64 va, u64 size, unsigned bbm_level);

struct pt_translation {
	paddr_t pa;
	struct pt_attrs attrs;
	unsigned level;
};
/* Lockless lookup of one address (a grace-period read section, no lock). */
bool pt_translate(const struct pgtable *pt, u64 va, struct pt_translation *out);
/* Prints every leaf in the range, merging runs that differ only by address. */
void pt_dump(const struct pgtable *pt, u64 va, u64 size);

/*
 * Table pages that translate addresses inside [va, va + size) only: those a
 * range's mappings alone keep alive (the root and the tables above the range
 * are not counted). A read-only walk; 0 for a bad range.
 */
u64 pt_count_tables(const struct pgtable *pt, u64 va, u64 size);

#ifdef PT_MEASURE_MASKED
/*
 * A measuring build (make bench-masked): per CPU, the longest interrupt-masked
 * section the engine opened, in arch_counter_read() ticks, and how many.
 */
extern u64 pt_masked_ticks_max[], pt_masked_sections[];
#endif
/* Bytes of tables for a count of them (pt->tables, pt->tables_peak): a concatenated root is one
 * table of fmt->root_pages pages. */
static inline u64 pt_table_bytes(const struct pgtable *pt, u64 tables)
{
	return tables ? (tables + pt->fmt->root_pages - 1) * PAGE_SIZE : 0;
}

/* Entry encoding through the format (also used by tests to check bits). */
u64 pt_encode_leaf(const struct pt_format *fmt, paddr_t pa, struct pt_attrs attrs, unsigned level);
u64 pt_encode_table(const struct pt_format *fmt, paddr_t table);
bool pt_entry_valid(const struct pt_format *fmt, u64 e);
bool pt_entry_is_table(const struct pt_format *fmt, u64 e, unsigned level);
paddr_t pt_entry_pa(const struct pt_format *fmt, u64 e);
/* The output address of the leaf e at level. */
paddr_t pt_leaf_pa(const struct pt_format *fmt, u64 e, unsigned level);
struct pt_attrs pt_decode_attrs(const struct pt_format *fmt, u64 e);

#endif
