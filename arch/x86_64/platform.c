/* SPDX-License-Identifier: MIT */
/*
 * Time and interrupts: the TSC as the free-running counter, the local APIC timer (calibrated
 * against the TSC) as the per-CPU one-shot, LAPIC IPIs, and the legacy PIC kept silent.
 */
#include "arch/arch.h"
#include "arch/x86_64/x86.h"
#include "drivers/lapic.h"
#include "kernel/percpu.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "mm/kmap.h"

#define PIT_HZ		   1193182
#define PIT_CH2_DATA	   0x42
#define PIT_COMMAND	   0x43
#define PORT_61		   0x61 /* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */
#define PIT_CALIBRATE_MS   20
#define PIT_POLL_LIMIT	   10000000
#define LAPIC_DEFAULT_BASE 0xfee00000ULL
#define LAPIC_CALIBRATE_US 10000

static u64 lapic_timer_hz;

u64 arch_counter_read(void)
{
	return rdtsc();
}

u64 arch_counter_freq(void)
{
	return x86_features.tsc_hz;
}

void x86_udelay(u64 us)
{
	u64 start = rdtsc();
	u64 ticks = us * (x86_features.tsc_hz / 1000000);

	while (rdtsc() - start < ticks)
		arch_cpu_relax();
}

/* CPUID leaf 15H (SDM Vol 2A, CPUID): TSC = crystal * EBX / EAX, when all three are given. */
static u64 tsc_hz_from_cpuid(void)
{
	u32 a, b, c, d;

	if (x86_features.max_leaf < 0x15)
		return 0;
	cpuid_count(0x15, 0, &a, &b, &c, &d);
	if (!a || !b || !c)
		return 0;
	return (u64)c * b / a;
}

/*
 * Counts TSC ticks while PIT channel 2 counts down PIT_CALIBRATE_MS in mode 0 (interrupt on
 * terminal count: its output, readable in port 0x61 bit 5, goes high at zero).
 */
static u64 tsc_hz_from_pit(void)
{
	u16 count = PIT_HZ * PIT_CALIBRATE_MS / 1000;
	u64 start, end;
	unsigned i;

	outb(PORT_61, (inb(PORT_61) & ~0x02) | 0x01);
	outb(PIT_COMMAND, 0xb0); /* channel 2, lobyte/hibyte, mode 0, binary */
	outb(PIT_CH2_DATA, count & 0xff);
	outb(PIT_CH2_DATA, count >> 8);
	start = rdtsc();
	for (i = 0; i < PIT_POLL_LIMIT; i++)
		if (inb(PORT_61) & 0x20)
			break;
	end = rdtsc();
	if (i == PIT_POLL_LIMIT)
		return 0;
	return (end - start) * 1000 / PIT_CALIBRATE_MS;
}

void x86_tsc_calibrate(void)
{
	struct x86_features *f = &x86_features;

	f->tsc_hz = tsc_hz_from_cpuid();
	f->tsc_source = "CPUID 0x15";
	if (f->tsc_hz)
		return;
	f->tsc_hz = tsc_hz_from_pit();
	f->tsc_source = "calibrated with PIT channel 2";
	if (f->tsc_hz)
		return;
	boot_fail("cannot measure the TSC frequency: no CPUID 0x15 and PIT channel 2 never "
		  "reached its terminal count");
}

/* The 8259 pair: remapped away from the exception vectors, then every line masked. */
static void legacy_pic_disable(void)
{
	outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 follows */
	outb(0xa0, 0x11);
	outb(0x21, VEC_PIC_BASE); /* ICW2: vector base */
	outb(0xa1, VEC_PIC_BASE + 8);
	outb(0x21, 0x04); /* ICW3: slave on IRQ 2 */
	outb(0xa1, 0x02);
	outb(0x21, 0x01); /* ICW4: 8086 mode */
	outb(0xa1, 0x01);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

/* LAPIC timer ticks per second: count down from ~0 for a TSC-timed interval. */
static u64 lapic_timer_calibrate(void)
{
	u32 elapsed;

	lapic_timer_oneshot(VEC_TIMER, 0xffffffff);
	x86_udelay(LAPIC_CALIBRATE_US);
	elapsed = 0xffffffff - lapic_timer_current();
	lapic_timer_oneshot(VEC_TIMER, 0);
	return (u64)elapsed * (1000000 / LAPIC_CALIBRATE_US);
}

void x86_platform_cpu_init(void)
{
	lapic_enable(VEC_SPURIOUS);
}

void arch_platform_init(struct boot_info *bi)
{
	u64 apic_base = rdmsr(MSR_APIC_BASE);
	u64 pa = apic_base & ~0xfffULL;

	(void)bi;
	/* SDM Vol 3 10.4.4 "Local APIC Status and Location": bit 11 is the global enable; bit 10
	 * (EXTD) means firmware left x2APIC on. */
	if (apic_base & BIT(10))
		boot_fail("firmware left the local APIC in x2APIC mode; granule drives xAPIC only");
	if (!(apic_base & BIT(11)))
		wrmsr(MSR_APIC_BASE, apic_base | BIT(11));
	if (!pa)
		pa = LAPIC_DEFAULT_BASE;
	legacy_pic_disable();
	lapic_set_base(kmap_device(pa_init(pa), PAGE_SIZE));
	x86_platform_cpu_init();
	lapic_timer_hz = lapic_timer_calibrate();
	if (!lapic_timer_hz)
		boot_fail("the local APIC timer did not count during calibration");
	printf("platform: xAPIC at 0x%llx, ID %u, timer %llu kHz (/16), TSC %llu kHz\n",
	       (unsigned long long)pa, lapic_id(), (unsigned long long)(lapic_timer_hz / 1000),
	       (unsigned long long)(x86_features.tsc_hz / 1000));
	arch_irq_enable();
}

/* Programs the LAPIC for ticks TSC ticks: ticks * lapic_hz / tsc_hz, without 128-bit division. */
static void lapic_arm_for_tsc_ticks(u64 ticks)
{
	u64 hz = x86_features.tsc_hz;
	u64 count = ticks / hz * lapic_timer_hz + ticks % hz * lapic_timer_hz / hz;

	lapic_timer_oneshot(VEC_TIMER, (u32)MIN(MAX(count, 1), 0xffffffffULL));
}

/*
 * The LAPIC timer runs on another clock than the TSC and its calibration is approximate, so
 * the interrupt can come a little early (or the count can be capped): the handler re-arms
 * until the TSC deadline has passed, and timer_handle() never runs before it.
 */
void arch_timer_oneshot(u64 ticks)
{
	struct x86_cpu *xc = x86_this_cpu();
	unsigned long flags = arch_irq_save();

	xc->timer_deadline = ticks ? rdtsc() + ticks : 0;
	if (ticks)
		lapic_arm_for_tsc_ticks(ticks);
	else
		lapic_timer_oneshot(VEC_TIMER, 0);
	arch_irq_restore(flags);
}

void x86_timer_irq(void)
{
	struct x86_cpu *xc = x86_this_cpu();
	u64 now = rdtsc();

	lapic_eoi();
	if (!xc->timer_deadline)
		return; /* cancelled after it fired */
	if (now < xc->timer_deadline) {
		lapic_arm_for_tsc_ticks(xc->timer_deadline - now);
		return;
	}
	xc->timer_deadline = 0;
	timer_handle();
}

void arch_send_ipi(unsigned cpu, enum ipi_type type)
{
	if (cpu >= MAX_CPUS || type >= IPI_TYPES || !lapic_ready())
		return;
	if (lapic_send_ipi((u32)percpu[cpu].hwid, LAPIC_DM_FIXED | (VEC_IPI_BASE + type)))
		printf("platform: IPI to CPU %u (APIC ID %llu) not accepted\n", cpu,
		       (unsigned long long)percpu[cpu].hwid);
}

void x86_ipi_irq(unsigned type)
{
	/* EOI first: an IPI_CALL function may never return (the panic path halts in it). */
	lapic_eoi();
	ipi_handle((enum ipi_type)type);
}
