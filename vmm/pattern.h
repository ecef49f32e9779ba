/* SPDX-License-Identifier: MIT */
/*
 * The deterministic content of guest memory: a pure function of the guest-physical address
 * and a seed. The VMM's page source fills pages with it; the test guests verify every byte
 * against it (docs/hypercalls.md, "Memory pattern"). Plain C, no includes beyond stdint.
 *
 * Memory is a sequence of little-endian 64-bit words. The word at 8-byte-aligned guest-physical
 * address A is granule_pattern_word(A, seed); the byte at address B is byte (B & 7) of the word
 * at B & ~7. The mixing is splitmix64's finalizer (Steele, Lea, Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014), so nearby words differ in about half their bits
 * and a page copied to the wrong address, or a zero page, never matches.
 */
#ifndef VMM_PATTERN_H
#define VMM_PATTERN_H

#include <stdint.h>

/* The seed a guest uses when the VMM passes 0 at entry ("granule" in ASCII). */
#define GRANULE_PATTERN_SEED_DEFAULT 0x6772616e756c65ULL

static inline uint64_t granule_pattern_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The 64-bit word at 8-byte-aligned guest-physical address gpa. */
static inline uint64_t granule_pattern_word(uint64_t gpa, uint64_t seed)
{
	return granule_pattern_mix((gpa & ~7ULL) ^ (seed * 0x9e3779b97f4a7c15ULL));
}

/* The byte at guest-physical address gpa. */
static inline uint8_t granule_pattern_byte(uint64_t gpa, uint64_t seed)
{
	return (uint8_t)(granule_pattern_word(gpa, seed) >> ((gpa & 7) * 8));
}

/*
 * Fills len bytes at buf with the pattern of guest-physical address gpa onward; gpa and len
 * multiples of 8 (a page source fills whole pages). Stores whole words through a uint64_t
 * pointer: buf must be 8-byte aligned, and the host little-endian like both guest arches.
 */
static inline void granule_pattern_fill(void *buf, uint64_t gpa, uint64_t len, uint64_t seed)
{
	uint64_t *w = (uint64_t *)buf;

	for (uint64_t off = 0; off < len; off += 8)
		*w++ = granule_pattern_word(gpa + off, seed);
}

#endif
