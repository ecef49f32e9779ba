/* SPDX-License-Identifier: MIT */
#include "drivers/gicv3.h"
#include "arch/arm64/sysreg.h"
#include "arch/arch.h"

/* Distributor (IHI 0069 12.9). */
#define GICD_CTLR	    0x0000
#define GICD_CTLR_RWP	    BIT(31)
#define GICD_CTLR_ENABLE_G1 BIT(1) /* EnableGrp1 (DS=1) / EnableGrp1A (Non-secure view) */
#define GICD_CTLR_ARE	    BIT(4) /* ARE (DS=1) / ARE_NS (Non-secure view) */

/* Redistributor RD_base frame (12.11) and SGI_base frame (64 KiB further). */
#define GICR_CTLR		   0x0000
#define GICR_TYPER		   0x0008
#define GICR_TYPER_VLPIS	   BIT(1)
#define GICR_TYPER_LAST		   BIT(4)
#define GICR_WAKER		   0x0014
#define GICR_WAKER_PROCESSOR_SLEEP BIT(1)
#define GICR_WAKER_CHILDREN_ASLEEP BIT(2)
#define GICR_FRAME		   0x10000
#define GICR_IGROUPR0		   (GICR_FRAME + 0x0080)
#define GICR_ISENABLER0		   (GICR_FRAME + 0x0100)
#define GICR_ICENABLER0		   (GICR_FRAME + 0x0180)
#define GICR_IPRIORITYR(n)	   (GICR_FRAME + 0x0400 + (n))

#define DEFAULT_PRIORITY 0xa0
#define POLL_LIMIT	 10000000

static volatile u8 *gicd;
static struct gicv3_redist_region redist[8];
static unsigned nr_redist;

static inline u32 rd32(volatile u8 *base, u64 off)
{
	return *(volatile u32 *)(base + off);
}

static inline void wr32(volatile u8 *base, u64 off, u32 v)
{
	*(volatile u32 *)(base + off) = v;
}

static inline u64 rd64(volatile u8 *base, u64 off)
{
	return *(volatile u64 *)(base + off);
}

static bool wait_clear(volatile u8 *base, u64 off, u32 bits)
{
	for (unsigned i = 0; i < POLL_LIMIT; i++) {
		if (!(rd32(base, off) & bits))
			return true;
		arch_cpu_relax();
	}
	return false;
}

void gicv3_init(void *dist, const struct gicv3_redist_region *regions, unsigned nr)
{
	gicd = dist;
	nr_redist = MIN(nr, ARRAY_SIZE(redist));
	for (unsigned i = 0; i < nr_redist; i++)
		redist[i] = regions[i];
	/* Affinity routing first, then the group enable; RWP tracks each write (12.9.4). */
	wr32(gicd, GICD_CTLR, GICD_CTLR_ARE);
	wait_clear(gicd, GICD_CTLR, GICD_CTLR_RWP);
	wr32(gicd, GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_ENABLE_G1);
	wait_clear(gicd, GICD_CTLR, GICD_CTLR_RWP);
}

/* MPIDR Aff3.Aff2.Aff1.Aff0 in the GICR_TYPER.Affinity_Value layout (bits 63:32). */
static u32 mpidr_to_gic_affinity(u64 mpidr)
{
	return (u32)(FIELD_GET(mpidr, 39, 32) << 24 | FIELD_GET(mpidr, 23, 0));
}

static volatile u8 *find_redist(u64 mpidr)
{
	u32 aff = mpidr_to_gic_affinity(mpidr);

	for (unsigned r = 0; r < nr_redist; r++) {
		volatile u8 *base = redist[r].base;
		volatile u8 *end = base + redist[r].size;

		while (base < end) {
			u64 typer = rd64(base, GICR_TYPER);

			if ((u32)(typer >> 32) == aff)
				return base;
			if (typer & GICR_TYPER_LAST)
				break;
			/* RD_base + SGI_base, plus VLPI and reserved frames with GICv4 (12.10). */
			base += (typer & GICR_TYPER_VLPIS) ? 4 * GICR_FRAME : 2 * GICR_FRAME;
		}
	}
	return NULL;
}

bool gicv3_cpu_init(u64 mpidr, u32 enable_mask)
{
	volatile u8 *rd = find_redist(mpidr);

	if (!rd)
		return false;
	/* Wake the redistributor (12.11.42): clear ProcessorSleep, wait for ChildrenAsleep = 0. */
	wr32(rd, GICR_WAKER, rd32(rd, GICR_WAKER) & ~GICR_WAKER_PROCESSOR_SLEEP);
	if (!wait_clear(rd, GICR_WAKER, GICR_WAKER_CHILDREN_ASLEEP))
		return false;
	wr32(rd, GICR_ICENABLER0, ~0u);
	wait_clear(rd, GICR_CTLR, BIT(3)); /* GICR_CTLR.RWP */
	wr32(rd, GICR_IGROUPR0, ~0u);
	for (unsigned i = 0; i < 32; i++)
		*(volatile u8 *)(rd + GICR_IPRIORITYR(i)) = DEFAULT_PRIORITY;
	wr32(rd, GICR_ISENABLER0, enable_mask);

	/*
	 * System register interface (12.1): SRE at our EL (at EL2 ICC_SRE_EL2.Enable
	 * also lets EL1 use it), priority mask open, no preemption groups, EOImode 0
	 * (EOI both drops priority and deactivates), group 1 on.
	 */
	if (arm64_at_el2)
		write_sysreg(ICC_SRE_EL2, read_sysreg(ICC_SRE_EL2) | BIT(0) | BIT(3));
	else
		write_sysreg(ICC_SRE_EL1, read_sysreg(ICC_SRE_EL1) | BIT(0));
	isb();
	write_sysreg(ICC_PMR_EL1, 0xff);
	write_sysreg(ICC_BPR1_EL1, 0);
	write_sysreg(ICC_CTLR_EL1, 0);
	write_sysreg(ICC_IGRPEN1_EL1, 1);
	isb();
	return true;
}

u32 gicv3_ack(void)
{
	u32 intid = (u32)read_sysreg(ICC_IAR1_EL1) & 0xffffff;

	/* The acknowledge is a read with side effects: order later memory accesses after it. */
	dsb(sy);
	return intid;
}

void gicv3_eoi(u32 intid)
{
	write_sysreg(ICC_EOIR1_EL1, intid);
	isb();
}

void gicv3_send_sgi(u64 mpidr, unsigned intid)
{
	u64 aff0 = FIELD_GET(mpidr, 7, 0);
	/* ICC_SGI1R_EL1 (12.2.23): Aff3/2/1, RS = Aff0 / 16, target list bit Aff0 % 16, INTID. */
	u64 v = FIELD_GET(mpidr, 39, 32) << 48 | FIELD_GET(mpidr, 23, 16) << 32 |
		FIELD_GET(mpidr, 15, 8) << 16 | (aff0 >> 4) << 44 | BIT(aff0 & 15) |
		(u64)(intid & 15) << 24;

	/* Writes before the SGI must be visible to the target when it takes it. */
	dsb(ishst);
	write_sysreg(ICC_SGI1R_EL1, v);
	isb();
}
