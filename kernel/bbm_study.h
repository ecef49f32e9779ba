/* SPDX-License-Identifier: MIT */
#ifndef KERNEL_BBM_STUDY_H
#define KERNEL_BBM_STUDY_H

/* Measures every usable HVO strategy for rounds optimize/restore pairs; CSV on the console. */
int bbm_study_run(unsigned rounds);

#endif
