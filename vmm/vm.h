/* SPDX-License-Identifier: MIT */
/*
 * A virtual machine: guest-physical memory slots backed by host huge blocks,
 * a stage-2 (EPT / NPT) page table built by the engine, and the backend's
 * identifier (VMID / ASID). Memory is demand paged: a slot starts with nothing
 * mapped, and a stage-2 fault maps exactly the 4 KiB page touched (vmm/fault.c),
 * zero-filled unless vm_load() put content there. A VM in postcopy
 * (vm_postcopy_attach(), vmm/postcopy.h) takes absent pages from its page
 * source instead, maps them at 4K and collapses complete regions to leaves.
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include "arch/arch.h"
#include "lib/errno.h"
#include "lib/spinlock.h"
#include "mm/pgtable.h"
#include "mm/pmm.h"
#include "vmm/exit.h"
#include "vmm/hypercall.h"
#include "vmm/postcopy.h"

/*
 * Errors: 0 or a negative enum err code of lib/errno.h, the one convention of
 * mm/, vmm/ and the arch backends. A vCPU that stops its VM returns ERR_IO
 * (the guest did something the VMM cannot handle), ERR_TIMEDOUT (a page
 * never arrived from the page source) or ERR_TIME (the VM's time budget ran
 * out, below).
 */

#define VM_MAX_SLOTS	    4
#define VM_MAX_VCPUS	    8
#define VM_DEFAULT_GPA_BITS 40

struct vm_slot {
	u64 gpa, size;	      /* guest-physical range; 2 MiB aligned */
	unsigned block_order; /* pmm order of each backing block: ORDER_1G or ORDER_2M */
	u64 nr_blocks;
	paddr_t *blocks; /* host address of each block, in order (pages from pmm) */
	u64 *present;	 /* one bit per 4K page: filled (zeroed or loaded) */
	unsigned blocks_order, present_order; /* pmm orders of the two arrays */
	/*
	 * Fill-then-map of a page is one step under its 2M region's lock: two
	 * faults on one page never both fill it, and faults in different 2M
	 * regions share no lock. One per region, locks_order the array's pmm order.
	 */
	struct spinlock *locks;
	unsigned locks_order;
	struct slot_postcopy *pc; /* postcopy state (vmm/postcopy.h), NULL when not migrating */
	/*
	 * Dirty log (vmm/dirty.c): one bit per 4K page, or NULL. Read and
	 * changed under the page's region lock by faults; freed only after
	 * every region lock was taken once with it cleared.
	 */
	u64 *dirty;
	unsigned dirty_order;
};

/* The lock of the 2M region holding gpa. */
static inline struct spinlock *vm_slot_lock(const struct vm_slot *s, u64 gpa)
{
	return &s->locks[(gpa - s->gpa) >> (PAGE_SHIFT + ORDER_2M)];
}

struct vm_stats {
	u64 exits[VM_EXIT_REASONS];
	u64 stage2_faults; /* faults resolved by mapping a page */
	u64 maps;	   /* 4K pages mapped into stage 2 */
	u64 pages_zeroed;  /* pages filled with zeros on first touch */
	u64 aborts_injected;
	u64 hypercalls;
	u64 bad_hypercalls; /* unknown numbers and bad arguments */
	u64 pages_discarded;
	u64 pages_dirtied; /* dirty bits set: once per page between two harvests */
};

struct vcpu;

struct vm {
	unsigned id; /* for messages: vm<id> */
	struct pt_format fmt;
	struct pgtable pt; /* stage 2: guest-physical -> host-physical */
	struct arch_vm arch;
	unsigned gpa_bits;
	struct vm_slot slots[VM_MAX_SLOTS];
	unsigned nr_slots;
	struct vm_stats stats;
	u64 reports[GRANULE_REPORT_KEY_MAX]; /* GRANULE_HC_REPORT values by key */
	struct vm_postcopy pc;		     /* postcopy demand paging (vmm/postcopy.h) */
	/* vCPUs by index (vcpu_create), their power states and the VM's end (vmm/smp.c). */
	struct vcpu *vcpus[VM_MAX_VCPUS];
	u32 vcpus_on;	 /* vCPUs ON or ON_PENDING: the VM ends when the last one turns off */
	u32 stopping;	 /* set once: every vCPU leaves its run loop at its next exit */
	int stop_error;	 /* the first vCPU error that stopped the VM, or 0 */
	u64 exit_status; /* GRANULE_HC_EXIT's status (0 for SYSTEM_OFF, last CPU_OFF) */
	/*
	 * Optional work for the vCPU threads' CPUs (vmm/smp.c): after_exit runs
	 * on vCPU 0's thread after each of its exits (short: a progress line);
	 * while_off runs on a thread whose vCPU is OFF, instead of waiting, for
	 * one bounded step, and returns whether there was anything to do.
	 */
	/* GRANULE_HC_CONSOLE_WRITE: each line after console_prefix (NULL: raw bytes). */
	const char *console_prefix;
	bool console_bol;
	struct spinlock console_lock;
	void (*after_exit)(struct vm *vm);
	bool (*while_off)(struct vm *vm);
	bool dirty_logging; /* vmm/dirty.c: RAM is mapped read-only, writes are logged */
	/*
	 * The time budget (vmm/vcpu.c): each vCPU may spend at most budget_ms
	 * of guest time, from its vcpu_create() on: time in the guest, idle
	 * waits included, but not the VMM's handling of its exits (a fault
	 * waiting for a postcopy page, which its own timeout bounds). The first
	 * vCPU over it stops the VM: every vCPU is kicked out, each prints
	 * where it was, and the run ends with ERR_TIME. vm_create() takes
	 * cmdline_vm_budget_ms(); 0 is none; the creator may change it before
	 * the run. budget_expired is set once, by that first vCPU.
	 */
	u64 budget_ms;
	u32 budget_expired;
};

/* VM statistics are bumped by several vCPUs at once. */
static inline void vm_stat_inc(u64 *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* Creates an empty VM with a guest-physical space of gpa_bits (0: VM_DEFAULT_GPA_BITS). */
int vm_create(struct vm *vm, unsigned gpa_bits);
/* Unmaps everything, frees tables, backing memory and the identifier. */
void vm_destroy(struct vm *vm);
/*
 * Adds guest RAM at [gpa, gpa + size), 2 MiB aligned, backed by 1 GiB blocks
 * (2 MiB blocks when no 1 GiB one is free or size is not a multiple of 1 GiB).
 * Nothing is mapped until the guest touches it.
 */
int vm_add_slot(struct vm *vm, u64 gpa, u64 size);
/* Copies size bytes of image into guest memory at gpa (inside one slot). */
int vm_load(struct vm *vm, u64 gpa, const void *image, u64 size);

/* The slot holding gpa, or NULL. */
struct vm_slot *vm_find_slot(struct vm *vm, u64 gpa);
/* The host kernel address of guest page gpa in slot s. */
void *vm_slot_page(const struct vm_slot *s, u64 gpa);
/*
 * Makes the 4K page at gpa hold its content (zeros on first touch) and
 * returns its host address; NULL when gpa is in no slot. Maps nothing.
 */
void *vm_page_fill(struct vm *vm, u64 gpa);
/* Fills (first time) and maps the 4K page at gpa of slot s into stage 2; 0 or an engine error. */
int vm_slot_map_page(struct vm *vm, struct vm_slot *s, u64 gpa);
/* Whether the page at gpa has been filled; false outside every slot. */
bool vm_page_present(struct vm *vm, u64 gpa);

/* Stage-2 fault and hypercall handling (vmm/fault.c, vmm/hypercall.c). */
struct vcpu;
int vm_handle_stage2_fault(struct vcpu *v, const struct vm_exit *exit);
int vm_handle_hypercall(struct vcpu *v, const struct vm_exit *exit);
/*
 * Dirty logging (vmm/dirty.c), for VMs outside postcopy: start write-protects
 * all RAM; each page's first write after that (or after its last harvest)
 * sets its bit once. Harvest copies a slot's bitmap into out (size / 32 KiB
 * words, or NULL), clears it, write-protects those pages again and returns
 * how many there were.
 */
int vm_dirty_log_start(struct vm *vm);
void vm_dirty_log_stop(struct vm *vm);
u64 vm_dirty_log_harvest(struct vm *vm, struct vm_slot *s, u64 *out);
/* A write's permission fault at gpa in s while logging: 0, or an engine error. */
int vm_dirty_fault(struct vm *vm, struct vm_slot *s, u64 gpa);
/* What a RAM page is mapped with now: read-write-execute, read-execute while logging. */
struct pt_attrs vm_ram_attrs(const struct vm *vm);

/* Guest memory ranges that a hypercall names: unmaps [gpa, gpa + len) and forgets the content. */
int vm_discard(struct vm *vm, u64 gpa, u64 len);

#endif
