/* SPDX-License-Identifier: MIT */
/*
 * A SPIN model of the VMM's stage-2 fault / invalidate protocol, checked by
 * scripts/spin-check.sh (docs/fault-protocol.md: results, findings, how to
 * run it by hand). It mirrors the C as written, with names from the code.
 * Every access to shared state that another CPU makes without the lock is a
 * step of its own. What happens under a lock, with no lockless access
 * between, is grouped into one atomic step (taking the lock included).
 *
 * There are two configurations, because the code has two: vm_dirty_log_start()
 * refuses a postcopy VM, so dirty logging and postcopy never meet.
 *
 * ---- Postcopy (default): one slot, one 2M region of NPAGES (2) pages, in one GiB ----
 *
 *   vcpu(me)    vmm/fault.c:vm_handle_stage2_fault (its mapped_after_breaks()
 *               is the pte[] test), vmm/postcopy.c:postcopy_fault ->
 *               resolve_page (urgent) -> page_arrive -> page_transfer /
 *               wait_in_flight, install_page_locked -> region_collapse_locked,
 *               gib_collapse. vCPU me faults FAULTS (2) pages, me + k (or both
 *               vCPUs the same pages: SAME_PAGES, or any: ANY_PAGE). A fault
 *               the source failed ends the vCPU (ERR_TIMEDOUT stops the VM).
 *   mover()     vmm/postcopy.c:mover_main -> mover_stream_slot -> mover_unit
 *               (unit_mapped) -> resolve_page (not urgent: a page in flight is
 *               PAGE_LEFT_TO_CLAIMER), MOVER_PASSES (1) passes. The code's
 *               second and third passes only repeat the first over what it
 *               found unmapped.
 *   discarder() vmm/vm.c:vm_discard -> vmm/postcopy.c:postcopy_discard ->
 *               discard_in_region: region_lock_settled (its in-flight wait),
 *               gib_split_if_leaf, pt_unmap, forget_pages, region_account_unmap,
 *               inval_seq_bump, region_unlock. DISCARDS (1) discards, each of
 *               page 0, page 1 or both (the checker picks).
 *   Collapse has no thread of its own in the code, so it has no proctype
 *   here either. The installer of a region's last page runs
 *   region_collapse_locked() under the region lock, then gib_collapse(), which
 *   takes regions_lock() of its GiB: here the one region (REGIONS_PER_GIB 1).
 *   The source fails at most FAILURES (1) transfers: page_transfer() then
 *   drops the claim. Not modelled: zero_next (it changes content, not the
 *   protocol); the non-HGM units (their resolvers hold the region lock from
 *   claim to install, so they need no sequence); postcopy_page_fill(), a
 *   hypercall's read (page_arrive() without an install); break-before-make
 *   windows inside the engine (tests/host/explore.c checks those); statistics.
 *
 * Properties (postcopy):
 *   (a) No stale install. install_page_locked() maps a page only if it is
 *       present now and holds the very arrival that the resolver saw after it
 *       sampled inval_seq (ghost gen[], bumped by each arrival). An
 *       invalidation (discard, collapse) between the sample and the install
 *       must make the resolver retry. Also checked: no 4K install into a region
 *       that is one 2M leaf; one arrival per absence (page_transfer's assert:
 *       arrival_dups stays 0); and at the end, no claim left in flight, every
 *       mapped page present and translated, and the region's count equal to
 *       its mapped bits.
 *   (c) No fault waits forever for an in-flight page. The safety run checks
 *       that every process ends: a vCPU stuck in wait_in_flight(), or the
 *       discard stuck in region_lock_settled(), is an invalid end state. With
 *       -DLIVENESS, wait_in_flight() is the busy loop it is in the code, and
 *       the LTL claim no_wait_forever checks, under weak fairness (pan -a -f),
 *       that every wait (ghost waiting[]) ends.
 *
 * ---- Dirty log (-DDIRTY_LOG): a plain slot, NPAGES pages in one 2M region ----
 *
 *   vcpu(me)    a guest store to each of WRITES (2) pages, me + k, retried after
 *               each exit: vmm/fault.c:vm_handle_stage2_fault. A permission
 *               fault reads vm->dirty_logging and goes to
 *               vmm/dirty.c:vm_dirty_fault; a translation fault goes to
 *               mapped_after_breaks, then vmm/vm.c:vm_slot_map_page with
 *               vmm/dirty.c:vm_ram_attrs. A permission fault that reads
 *               dirty_logging clear takes fault.c's "stopping" path (ERR_IO).
 *   harvester() vmm/dirty.c:vm_dirty_log_start, then HARVESTS (2) times
 *               vm_dirty_log_harvest (the exchange of the bitmap word, then
 *               pt_protect(ram_rx) of each page taken; the caller copies those
 *               pages once it returns), then vm_dirty_log_stop.
 *   discarder() vmm/vm.c:vm_discard -> discard_in_region (slot_lock, pt_unmap,
 *               slot_page_mark(false)), DISCARDS (1) times.
 *
 * Properties (dirty log):
 *   (b) set_page_dirty exactly once. A store committed after a harvest's
 *       exchange (or after vm_dirty_log_start() returned: the caller's first
 *       full copy) and before the next harvest's exchange is in that next
 *       harvest's bits. The exception is a store that lands between an
 *       exchange that took its page and that harvest's return: the caller's
 *       copy has it (dirty.c: "a write that lands between the two is in this
 *       harvest's copy"). Ghosts: owed[], a store that no copy has yet;
 *       absorb[]. Each harvested bit must also have been counted by exactly
 *       one set (the test-and-set behind pages_dirtied, ghost sets[]), however
 *       many vCPUs faulted on the page.
 *   (d) A write fault racing vm_dirty_log_stop() never stops the VM (err_io).
 *   (c) Deadlock freedom: every process ends (no invalid end state).
 *
 * The code as first written failed (b) and (d) in this configuration (see
 * docs/fault-protocol.md, "Findings"); it was repaired, and FIX_DIRTY_LOCK,
 * FIX_LOG_START and FIX_LOG_STOP, each one repair, are now on by default.
 * OLD_DIRTY_FAULT, OLD_LOG_START and OLD_LOG_STOP turn one off: each must
 * fail with the other two repairs in.
 *
 * ---- Variants (spin -DNAME) ----
 *   NO_RETRY            resolve_page() installs without comparing inval_seq:
 *                       must fail (a), the stale-install assertion.
 *   BUMP_AFTER_UNLOCK   discard_in_region() bumps inval_seq after region_unlock():
 *                       must fail (a).
 *   FAIL_KEEPS_CLAIM    a failed page_transfer() keeps the page's requested bit:
 *                       must fail (c), a fault waiting forever (an invalid end
 *                       state; an acceptance cycle with LIVENESS).
 *   HARVEST_PROTECT_FIRST (DIRTY_LOG) the harvest write-protects the pages whose
 *                       bits are set, then takes the bits: must fail (b).
 *   NONATOMIC_TAS       (DIRTY_LOG) vm_dirty_fault() tests the bit, then sets it:
 *                       must fail (b), a bit counted twice.
 *   FIX_DIRTY_LOCK      (DIRTY_LOG) vm_dirty_fault() sets the bit and makes the
 *                       page writable under slot_lock(); the harvest write-protects
 *                       each page under it.
 *   FIX_LOG_START       (DIRTY_LOG) vm_dirty_log_start() write-protects under
 *                       slot_lock() (after setting dirty_logging).
 *   FIX_LOG_STOP        (DIRTY_LOG) fault.c sends a permission write fault to
 *                       vm_dirty_fault() (which resumes once logging stopped) rather
 *                       than to its ERR_IO path when dirty_logging reads false.
 *   Bounds: NPAGES, FAULTS, DISCARDS, FAILURES, MOVER_PASSES, WRITES, HARVESTS.
 */

#ifndef NPAGES
#define NPAGES 2
#endif
#define NVCPU 2
#define NONE  255

/* ================================================================ postcopy */
#ifndef DIRTY_LOG

#ifndef FAULTS
#define FAULTS 2
#endif
#ifndef DISCARDS
#define DISCARDS 1
#endif
#ifndef FAILURES
#define FAILURES 1
#endif
#ifndef MOVER_PASSES
#define MOVER_PASSES 1
#endif
#define REGIONS_PER_GIB 1

/* page_arrive() / resolve_page() results */
#define OK	 0
#define LEFT	 1 /* PAGE_LEFT_TO_CLAIMER */
#define TIMEDOUT 2 /* ERR_TIMEDOUT */

/* enum region_state */
#define EMPTY 0
#define TABLE 1
#define LEAF  2

byte inval_seq;		/* vm->pc.inval_seq */
bit rlock;		/* the region's pc_region.lock */
bit present[NPAGES];	/* s->present */
bit requested[NPAGES];	/* s->pc->requested: claimed (and still set once present) */
bit mapped[NPAGES];	/* s->pc->mapped */
bit pte[NPAGES];	/* stage 2 translates the page (4K or inside a leaf) */
byte r_mapped;		/* pc_region.mapped */
byte r_state;		/* pc_region.state */
byte g_full;		/* pc_gib.full */
bit g_leaf;		/* pc_gib.leaf */
byte failures = FAILURES; /* transfers the source may still fail */
/* ghosts */
byte gen[NPAGES];	/* which arrival the page's content is */
bit waiting[NVCPU + 2];	/* a CPU in a wait for an in-flight page: vCPUs, discarder (mover never) */

#define DISCARDER NVCPU
#define MOVER	  (NVCPU + 1)

#define in_flight(p) (requested[p] && !present[p])

/*
 * wait_in_flight(): for the safety run a guard that blocks until the page is
 * no longer in flight (a wait that never ends is then an invalid end state);
 * for the liveness run the busy loop it is (arch_cpu_relax()), flagged in the
 * ghost waiting[] for the claim (a wait that never ends is then a fair cycle).
 */
#ifdef LIVENESS
#define WAIT_UNTIL(w, cond) \
	waiting[w] = 1; do :: (cond) -> break :: else -> skip od; waiting[w] = 0
#else
#define WAIT_UNTIL(w, cond) (cond)
#endif

inline region_lock()
{
	atomic { rlock == 0 -> rlock = 1 }
}

inline region_unlock()
{
	rlock = 0
}

/* page_transfer(): the claimer brings the page, or the source fails it. */
inline page_transfer(p)
{
	if
	:: atomic {
		failures > 0 -> failures--;
#ifndef FAIL_KEEPS_CLAIM
		requested[p] = 0; /* unclaimed: a later request tries again */
#endif
		rc = TIMEDOUT
	   }
	:: atomic {
		assert(!present[p]); /* bit_set(s->present): arrival_dups stays 0 */
		gen[p]++;
		present[p] = 1;
		seen = gen[p];
		rc = OK
	   }
	fi
}

/* page_arrive(): present, or claim under the lock and transfer unlocked, or wait. */
inline page_arrive(p, urgent, me)
{
	do
	:: atomic { if :: present[p] -> got = 1; seen = gen[p] :: else -> got = 0 fi };
	   if
	   :: got -> rc = OK; got = 0; break
	   :: else -> skip
	   fi;
	   /* under the lock: present again? else bit_set(s->pc->requested), the claim */
	   atomic {
		rlock == 0 -> rlock = 1;
		if
		:: present[p] -> got = 1; seen = gen[p]
		:: else -> if :: !requested[p] -> requested[p] = 1; got = 2 :: else -> got = 0 fi
		fi
	   };
	   region_unlock();
	   if
	   :: got == 1 -> rc = OK; got = 0; break
	   :: got == 2 -> got = 0; page_transfer(p); break
	   :: else -> skip
	   fi;
	   if
	   :: !urgent -> rc = LEFT; break
	   :: else -> skip
	   fi;
	   /* wait_in_flight() */
	   WAIT_UNTIL(me, !in_flight(p)) /* wait_in_flight() */
	od
}

/* region_collapse_locked(): all pages mapped: one 2M leaf, then the bump. */
inline region_collapse_locked()
{
	/* pt_collapse(): the pages stay translated, through one leaf; inval_seq_bump() */
	atomic {
		inval_seq++;
		r_state = LEAF;
		g_full++;
		gib_full = (g_full == REGIONS_PER_GIB)
	}
}

/* gib_collapse(): every region of the GiB a leaf: one 1G leaf, under all its region locks. */
inline gib_collapse()
{
	region_lock();
	atomic {
		if
		:: g_full == REGIONS_PER_GIB && !g_leaf -> inval_seq++; g_leaf = 1
		:: else -> skip
		fi
	}
	region_unlock()
}

/*
 * install_page_locked() up to its collapse, in the step that takes the lock
 * and compares inval_seq: what it reads and writes only changes under the
 * lock, so nothing can come between. last: this was the region's last page.
 */
inline install_page_locked(p)
{
	if
	:: mapped[p] -> skip
	:: else ->
		/* (a): the page is present and is the arrival this resolver saw */
		assert(present[p] && gen[p] == seen);
		assert(r_state != LEAF);
		pte[p] = 1; /* pt_map(4K) */
		mapped[p] = 1;
		r_mapped++;
		if
		:: r_mapped == 1 -> r_state = TABLE /* region_fill_first() */
		:: else -> skip
		fi;
		last = (r_mapped == NPAGES)
	fi
}

/* resolve_page(): sample inval_seq, arrive, then install only if unchanged under the lock. */
inline resolve_page(p, urgent, me)
{
	do
	:: seq = inval_seq;
	   page_arrive(p, urgent, me);
	   if
	   :: rc != OK -> break
	   :: else -> skip
	   fi;
	   atomic {
		rlock == 0 -> rlock = 1;
#ifndef NO_RETRY
		if
		:: inval_seq != seq -> got = 1 /* retry */
		:: else -> got = 0; install_page_locked(p)
		fi
#else
		got = 0;
		install_page_locked(p)
#endif
	   };
	   if
	   :: got -> region_unlock(); atomic { got = 0; seen = 0 }
	   :: else ->
		if
		:: last -> last = 0; region_collapse_locked()
		:: else -> skip
		fi;
		region_unlock();
		if
		:: gib_full -> gib_full = 0; gib_collapse()
		:: else -> skip
		fi;
		break
	   fi
	od;
	atomic { seq = 0; seen = 0 }
}

proctype vcpu(byte me)
{
	byte k, p, rc, seq, seen;
	byte got;
	bit last, gib_full;

	do
	:: k == FAULTS -> break
	:: else ->
		/* the fault on page me + k (any page: the checker picks) */
#if defined(ANY_PAGE)
		select (p : 0 .. NPAGES - 1);
#elif defined(SAME_PAGES)
		p = k % NPAGES; /* both vCPUs fault the same pages */
#else
		p = (me + k) % NPAGES;
#endif
		/* mapped_after_breaks(): mapped by now, run again */
		atomic { k++; got = pte[p] };
		if
		:: got -> got = 0
		:: else ->
			resolve_page(p, 1, me);
			if
			:: rc == TIMEDOUT -> break /* the page never arrived: the VM stops */
			:: else -> rc = OK
			fi
		fi
	od
}

proctype mover()
{
	byte pass, p, unmapped, rc, seq, seen;
	byte got;
	bit last, gib_full;

	do
	:: pass == MOVER_PASSES -> break
	:: else ->
		/* one pass of mover_stream_slot(): mover_unit() of each page */
		atomic { pass++; unmapped = 0; p = 0 };
		do
		:: p == NPAGES -> break
		:: else ->
			atomic { got = mapped[p]; unmapped = unmapped + 1 - mapped[p] }; /* unit_mapped() */
			if
			:: got -> got = 0
			:: else ->
				resolve_page(p, 0, MOVER);
				rc = OK /* an error goes to mover_error; the mover moves on */
			fi;
			p++
		od;
		if
		:: unmapped == 0 -> break
		:: else -> atomic { unmapped = 0; p = 0 }
		fi
	od
}

proctype discarder()
{
	byte round, lo, hi, i, busy, unmapped, was;
	bit forgot[NPAGES];

	for (round : 1 .. DISCARDS) {
		if
		:: lo = 0; hi = 0
		:: lo = 1; hi = 1
		:: lo = 0; hi = NPAGES - 1
		fi;
		/* region_lock_settled(): no transfer in the range in flight (none starts after) */
		do
		:: atomic {
			rlock == 0 -> rlock = 1;
			busy = NONE;
			for (i : lo .. hi) {
				if
				:: busy == NONE && in_flight(i) -> busy = i
				:: else -> skip
				fi
			}
			i = 0
		   };
		   if
		   :: busy == NONE -> break
		   :: else ->
			region_unlock();
			WAIT_UNTIL(DISCARDER, !in_flight(busy)); /* wait_in_flight() */
			busy = 0
		   fi
		od;
		atomic {
			g_leaf = 0; /* gib_split_if_leaf() */
			was = r_state;
			/* pt_unmap() */
			for (i : lo .. hi) {
				pte[i] = 0
			}
			i = 0
		}
		/*
		 * forget_pages(): the mapped and present bits, then the claims of
		 * the pages that were present (a window in which such a page looks
		 * in flight to a lockless waiter).
		 */
		atomic {
			unmapped = 0;
			for (i : lo .. hi) {
				unmapped = unmapped + mapped[i];
				mapped[i] = 0;
				forgot[i] = present[i];
				present[i] = 0
			}
			i = 0
		}
		atomic {
			for (i : lo .. hi) {
				if
				:: forgot[i] -> requested[i] = 0; forgot[i] = 0
				:: else -> skip
				fi
			}
			i = 0
		}
		/* region_account_unmap() */
		atomic {
			if
			:: unmapped > 0 ->
				r_mapped = r_mapped - unmapped;
				if
				:: was == LEAF ->
					g_full--;
					if
					:: r_mapped > 0 -> r_state = TABLE
					:: else -> skip
					fi
				:: else -> skip
				fi;
				if
				:: r_mapped == 0 -> r_state = EMPTY
				:: else -> skip
				fi
			:: else -> skip
			fi;
			i = 0; was = 0; unmapped = 0
		}
#ifndef BUMP_AFTER_UNLOCK
		inval_seq++; /* inval_seq_bump(): before the unlock */
		region_unlock();
#else
		region_unlock();
		inval_seq++;
#endif
		atomic { lo = 0; hi = 0 }
	}
}

init
{
	byte p, n;

	atomic {
		run vcpu(0);
		run vcpu(1);
		run mover();
		run discarder()
	}
	_nr_pr == 1;
	/* At rest: no claim in flight, the region model matches the mapped bits. */
	for (p : 0 .. NPAGES - 1) {
		assert(!in_flight(p));
		assert(mapped[p] == pte[p]);
		assert(!mapped[p] || present[p]);
		n = n + mapped[p]
	}
	assert(n == r_mapped);
	assert(rlock == 0)
}

#ifdef LIVENESS
ltl no_wait_forever {
	[] ((waiting[0] -> <> !waiting[0]) &&
	    (waiting[1] -> <> !waiting[1]) &&
	    (waiting[2] -> <> !waiting[2]))
}
#endif

/* =============================================================== dirty log */
#else

/*
 * The C as it is: vmm/dirty.c and vmm/fault.c were repaired after this model
 * found the three bugs (docs/fault-protocol.md, "Findings"), so the repairs
 * are the default. OLD_DIRTY_FAULT, OLD_LOG_START and OLD_LOG_STOP bring each
 * bug back as it was: mutants the check must see fail.
 */
#ifndef OLD_DIRTY_FAULT
#define FIX_DIRTY_LOCK
#endif
#ifndef OLD_LOG_START
#define FIX_LOG_START
#endif
#ifndef OLD_LOG_STOP
#define FIX_LOG_STOP
#endif

#ifndef WRITES
#define WRITES 2
#endif
#ifndef HARVESTS
#define HARVESTS 2
#endif
#ifndef DISCARDS
#define DISCARDS 1
#endif

/* stage-2 permissions of a page: not mapped, ram_rx, ram_rwx */
#define RO 1
#define RW 2

byte pte[NPAGES];
bit present[NPAGES];	/* s->present */
bit dirty[NPAGES];	/* s->dirty: one bitmap word holds every page's bit */
bit logging;		/* vm->dirty_logging */
bit slock;		/* slot_lock(): the 2M region's lock */
/* ghosts */
bit tracking;		/* the log is on and the caller's first full copy is made */
bit owed[NPAGES];	/* a store to the page that no copy has yet */
bit absorb[NPAGES];	/* taken by the harvest in progress: its copy has any store now */
byte sets[NPAGES];	/* counted sets of the bit (pages_dirtied) since it was last taken */
bit err_io;		/* a vCPU took fault.c's ERR_IO path: the VM stops */

inline slot_lock()
{
	atomic { slock == 0 -> slock = 1 }
}

inline slot_unlock()
{
	slock = 0
}

/* pt_protect(): changes a valid leaf only */
inline protect(p, attrs)
{
	atomic {
		if
		:: pte[p] != 0 -> pte[p] = attrs
		:: else -> skip
		fi
	}
}

inline vm_slot_map_page(p)
{
	slot_lock();
	present[p] = 1; /* slot_page_fill_locked() */
	if /* vm_ram_attrs(), read before pt_map() */
	:: logging -> attrs = RO
	:: else -> attrs = RW
	fi;
	pte[p] = attrs; /* pt_map(): replaces a leaf already there */
	slot_unlock();
	attrs = 0
}

inline vm_dirty_fault(p)
{
	if
	:: !logging -> skip /* logging stopped since the fault: resume */
	:: else ->
#ifdef FIX_DIRTY_LOCK
		slot_lock();
#endif
#ifdef NONATOMIC_TAS
		old = dirty[p];
		atomic {
			dirty[p] = 1;
			if
			:: !old -> sets[p]++
			:: else -> skip
			fi;
			old = 0
		}
#else
		/* __atomic_fetch_or(): pages_dirtied counts the first set */
		atomic {
			if
			:: !dirty[p] -> dirty[p] = 1; sets[p]++
			:: else -> skip
			fi
		}
#endif
		protect(p, RW); /* pt_protect(ram_rwx) */
#ifdef FIX_DIRTY_LOCK
		slot_unlock()
#endif
	fi
}

proctype vcpu(byte me)
{
	byte k, p, attrs;
	bit old;

	for (k : 0 .. WRITES - 1) {
		p = (me + k) % NPAGES;
		do
		:: atomic {
			pte[p] == RW -> /* the store commits */
			if
			:: tracking && !absorb[p] -> owed[p] = 1
			:: else -> skip
			fi
		   };
		   break
		:: pte[p] == RO -> /* permission fault */
			if
			:: logging -> vm_dirty_fault(p)
			:: else ->
#ifdef FIX_LOG_STOP
				vm_dirty_fault(p)
#else
				/* "permission fault at gpa ... in guest RAM: stopping" */
				err_io = 1;
				assert(!err_io)
#endif
			fi
		:: pte[p] == 0 -> /* translation fault */
			if
			:: pte[p] != 0 -> skip /* mapped_after_breaks() */
			:: else -> vm_slot_map_page(p)
			fi
		od
	}
}

/* The exchange of vm_dirty_log_harvest(), with the checks of (b) at that instant. */
inline harvest_exchange()
{
	atomic {
		for (p : 0 .. NPAGES - 1) {
			taken[p] = dirty[p];
			dirty[p] = 0;
			if
			:: taken[p] ->
				assert(sets[p] == 1); /* counted once, however many vCPUs set it */
				sets[p] = 0;
				owed[p] = 0;
				absorb[p] = 1
			:: else ->
				assert(!owed[p]) /* written since the last copy, yet not logged */
			fi
		}
		p = 0
	}
}

inline harvest_protect_taken()
{
	for (p : 0 .. NPAGES - 1) {
		if
		:: taken[p] ->
#ifdef FIX_DIRTY_LOCK
			slot_lock();
#endif
			protect(p, RO);
#ifdef FIX_DIRTY_LOCK
			slot_unlock()
#endif
		:: else -> skip
		fi
	}
	p = 0
}

proctype harvester()
{
	byte p, k;
	bit taken[NPAGES];

	/* vm_dirty_log_start(): the flag, then the protection */
	logging = 1;
	for (p : 0 .. NPAGES - 1) {
#ifdef FIX_LOG_START
		slot_lock();
#endif
		protect(p, RO);
#ifdef FIX_LOG_START
		slot_unlock()
#endif
	}
	p = 0;
	tracking = 1; /* the caller copies all of RAM now */
	for (k : 1 .. HARVESTS) {
#ifdef HARVEST_PROTECT_FIRST
		for (p : 0 .. NPAGES - 1) {
			if
			:: dirty[p] -> protect(p, RO)
			:: else -> skip
			fi
		}
		p = 0;
		harvest_exchange();
#else
		harvest_exchange();
		harvest_protect_taken();
#endif
		/* the harvest returns: the caller copies the pages taken */
		atomic {
			for (p : 0 .. NPAGES - 1) {
				absorb[p] = 0;
				taken[p] = 0
			}
			p = 0
		}
	}
	/* vm_dirty_log_stop() */
	atomic { tracking = 0; logging = 0 };
	for (p : 0 .. NPAGES - 1) {
		protect(p, RW)
	}
	p = 0
}

proctype discarder()
{
	byte round, p;

	for (round : 1 .. DISCARDS) {
		select (p : 0 .. NPAGES - 1);
		slot_lock();
		pte[p] = 0;	/* pt_unmap() */
		present[p] = 0; /* slot_page_mark(false) */
		slot_unlock();
		p = 0
	}
}

init
{
	atomic {
		run vcpu(0);
		run vcpu(1);
		run harvester();
		run discarder()
	}
	_nr_pr == 1;
	assert(slock == 0)
}

#endif
