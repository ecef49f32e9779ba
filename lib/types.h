/* SPDX-License-Identifier: MIT */
/* Fixed-width types and the typed physical address used across granule. */
#ifndef LIB_TYPES_H
#define LIB_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef unsigned long long u64; /* as in Linux: printf with %llx, no casts */
typedef long long s64;
typedef int32_t s32;
typedef int16_t s16;

/*
 * A physical address is a distinct type so that it can never be dereferenced
 * or mixed with a virtual address by accident (the Hafnium convention).
 */
typedef struct {
	u64 value;
} paddr_t;

static inline paddr_t pa_init(u64 value)
{
	return (paddr_t){value};
}

static inline u64 pa_addr(paddr_t pa)
{
	return pa.value;
}

static inline paddr_t pa_add(paddr_t pa, u64 offset)
{
	return pa_init(pa.value + offset);
}

#define KiB(x) ((u64)(x) << 10)
#define MiB(x) ((u64)(x) << 20)
#define GiB(x) ((u64)(x) << 30)

#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a)-1))
#define ALIGN_UP(x, a)	 ALIGN_DOWN((x) + (u64)(a)-1, (a))
#define IS_ALIGNED(x, a) (((x) & ((u64)(a)-1)) == 0)
#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)	 ((a) < (b) ? (a) : (b))
#define MAX(a, b)	 ((a) > (b) ? (a) : (b))
#define BIT(n)		 (1ULL << (n))
/* Bits hi..lo inclusive, as the architecture manuals write field ranges. */
#define GENMASK(hi, lo)	       ((~0ULL >> (63 - (hi))) & ~((1ULL << (lo)) - 1))
#define FIELD_GET(val, hi, lo) (((u64)(val)&GENMASK(hi, lo)) >> (lo))

#define __noreturn     __attribute__((noreturn))
#define __packed       __attribute__((packed))
#define __aligned(x)   __attribute__((aligned(x)))
#define __section(s)   __attribute__((section(s)))
#define __unused       __attribute__((unused))
#define __printf(a, b) __attribute__((__format__(__printf__, a, b)))
#define likely(x)      __builtin_expect(!!(x), 1)
#define unlikely(x)    __builtin_expect(!!(x), 0)

#define READ_ONCE(x)	 (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1ULL << PAGE_SHIFT)

#endif
