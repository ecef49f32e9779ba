/* SPDX-License-Identifier: MIT */
#ifndef KERNEL_BBM_STUDY_H
#define KERNEL_BBM_STUDY_H

/*
 * Measures every usable HVO strategy for rounds optimize/restore pairs; CSV on
 * the console. Returns 0, or ERR_NOMEM (lib/errno.h) when a strategy could not
 * get an optimized 2 MiB page to measure (the others still run).
 */
int bbm_study_run(unsigned rounds);

#endif
