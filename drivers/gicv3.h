/* SPDX-License-Identifier: MIT */
/*
 * GICv3 (Arm IHI 0069): distributor, one redistributor per CPU, and the system
 * register CPU interface. granule uses group 1 interrupts only: SGIs for IPIs
 * and the timer PPI.
 */
#ifndef DRIVERS_GICV3_H
#define DRIVERS_GICV3_H

#include "lib/types.h"

#define GIC_SPURIOUS 1020 /* INTIDs 1020-1023 are special: nothing to handle */

struct gicv3_redist_region {
	void *base; /* mapped */
	u64 size;
};

/* Distributor set-up, once, on the boot CPU. */
void gicv3_init(void *dist, const struct gicv3_redist_region *regions, unsigned nr);
/*
 * Per CPU: finds this CPU's redistributor by its affinity (GICR_TYPER), wakes
 * it, enables the given PPIs/SGIs (bit n = INTID n, n < 32) as group 1, and
 * enables the CPU interface. Returns false when no redistributor matches mpidr.
 */
bool gicv3_cpu_init(u64 mpidr, u32 enable_mask);
/* Acknowledge / end of interrupt on the CPU interface. */
u32 gicv3_ack(void);
void gicv3_eoi(u32 intid);
/* Sends SGI intid to the CPU with affinity mpidr. */
void gicv3_send_sgi(u64 mpidr, unsigned intid);

#endif
