/* SPDX-License-Identifier: MIT */
/*
 * The one error convention of mm/, vmm/ and the arch backends: a function
 * that can fail returns 0 or one of these negative codes (Linux's errno
 * numbers, so a reader knows them at sight), and a message names the code
 * with err_name(). Positive values are never errors: where a function also
 * reports a non-error outcome it documents its positive values itself.
 */
#ifndef LIB_ERRNO_H
#define LIB_ERRNO_H

enum err {
	ERR_OK = 0,
	ERR_NOENT = -2,	     /* no such object (a slot, a device, a vCPU) */
	ERR_IO = -5,	     /* the guest did something the VMM cannot handle: VM stopped;
			      * or the firmware refused a request (PSCI CPU_ON) */
	ERR_AGAIN = -11,     /* lost a race or hit a transient state: try again */
	ERR_NOMEM = -12,     /* an allocation failed; nothing was changed */
	ERR_FAULT = -14,     /* a guest address that nothing backs */
	ERR_BUSY = -16,	     /* the object is in use */
	ERR_EXIST = -17,     /* it is already there (an overlapping slot or mapping) */
	ERR_INVAL = -22,     /* a bad argument: misaligned, out of range, malformed */
	ERR_RANGE = -34,     /* a value beyond what the format or the hardware can hold */
	ERR_TIME = -62,	     /* a time budget ran out: a VM stopped by vm_budget= (vmm/vm.h) */
	ERR_NOTSUP = -95,    /* the CPU or the configuration lacks a needed feature */
	ERR_TIMEDOUT = -110, /* something never happened (a page never arrived) */
};

/* "ERR_NOMEM" for -12; "ERR_OK" for 0; "error -N" (a static buffer) for an unknown code. */
const char *err_name(int rc);

#endif
