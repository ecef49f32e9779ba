/* SPDX-License-Identifier: MIT */
#include "lib/errno.h"
#include "lib/printf.h"

const char *err_name(int rc)
{
	static char unknown[24];

	switch (rc) {
	case ERR_OK: return "ERR_OK";
	case ERR_NOENT: return "ERR_NOENT";
	case ERR_IO: return "ERR_IO";
	case ERR_AGAIN: return "ERR_AGAIN";
	case ERR_NOMEM: return "ERR_NOMEM";
	case ERR_FAULT: return "ERR_FAULT";
	case ERR_BUSY: return "ERR_BUSY";
	case ERR_EXIST: return "ERR_EXIST";
	case ERR_INVAL: return "ERR_INVAL";
	case ERR_RANGE: return "ERR_RANGE";
	case ERR_TIME: return "ERR_TIME";
	case ERR_NOTSUP: return "ERR_NOTSUP";
	case ERR_TIMEDOUT: return "ERR_TIMEDOUT";
	}
	snprintf(unknown, sizeof(unknown), "error %d", rc);
	return unknown;
}
