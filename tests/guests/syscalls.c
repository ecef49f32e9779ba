/* SPDX-License-Identifier: MIT */
/*
 * The system calls newlib is built without (--disable-newlib-supplied-syscalls): console
 * output, a bounded heap for malloc, exit; the rest fail with ENOSYS-style errors.
 */
#include "tests/guests/guest.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/times.h>
#include <sys/types.h>

/* newlib's libc calls these by name; the prototypes live with their users in newlib. */
int _write(int fd, const void *buf, size_t len);
int _read(int fd, void *buf, size_t len);
void *_sbrk(ptrdiff_t incr);
void _exit(int status);
int _close(int fd);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
off_t _lseek(int fd, off_t off, int whence);
int _kill(int pid, int sig);
int _getpid(void);
int _open(const char *path, int flags, ...);
int _gettimeofday(void *tv, void *tz);
clock_t _times(struct tms *t);
int _unlink(const char *path);
int _link(const char *old, const char *new_path);

int _write(int fd, const void *buf, size_t len)
{
	if (fd != 1 && fd != 2) {
		errno = EBADF;
		return -1;
	}
	guest_console_write(buf, len);
	return (int)len;
}

int _read(int fd, void *buf, size_t len)
{
	return 0; /* no input: end of file */
}

void *_sbrk(ptrdiff_t incr)
{
	static uint64_t brk;
	uint64_t old;

	if (!brk)
		brk = guest_heap_start;
	old = brk;
	if ((incr > 0 && (uint64_t)incr > guest_heap_end - brk) ||
	    (incr < 0 && (uint64_t)-incr > brk - guest_heap_start)) {
		errno = ENOMEM;
		return (void *)-1;
	}
	brk += (uint64_t)incr;
	return (void *)(uintptr_t)old;
}

void _exit(int status)
{
	guest_exit(status);
}

int _close(int fd)
{
	errno = EBADF;
	return -1;
}

int _fstat(int fd, struct stat *st)
{
	st->st_mode = S_IFCHR; /* a terminal: newlib line-buffers stdout */
	return 0;
}

int _isatty(int fd)
{
	return fd >= 0 && fd <= 2;
}

off_t _lseek(int fd, off_t off, int whence)
{
	errno = ESPIPE;
	return -1;
}

int _kill(int pid, int sig)
{
	errno = ENOSYS;
	return -1;
}

int _getpid(void)
{
	return 1;
}

int _open(const char *path, int flags, ...)
{
	errno = ENOSYS;
	return -1;
}

int _gettimeofday(void *tv, void *tz)
{
	errno = ENOSYS;
	return -1;
}

clock_t _times(struct tms *t)
{
	errno = ENOSYS;
	return (clock_t)-1;
}

int _unlink(const char *path)
{
	errno = ENOSYS;
	return -1;
}

int _link(const char *old, const char *new_path)
{
	errno = ENOSYS;
	return -1;
}

/*
 * Some newlib targets (x86_64-none-elf: MISSING_SYSCALL_NAMES in newlib's configure.host) call
 * the names without the underscore: the same functions answer to both.
 */
#define SYSCALL_ALIAS(name, target) __typeof__(target) name __attribute__((alias(#target)))
SYSCALL_ALIAS(write, _write);
SYSCALL_ALIAS(read, _read);
SYSCALL_ALIAS(sbrk, _sbrk);
SYSCALL_ALIAS(close, _close);
SYSCALL_ALIAS(fstat, _fstat);
SYSCALL_ALIAS(isatty, _isatty);
SYSCALL_ALIAS(lseek, _lseek);
SYSCALL_ALIAS(kill, _kill);
SYSCALL_ALIAS(getpid, _getpid);
SYSCALL_ALIAS(open, _open);
SYSCALL_ALIAS(gettimeofday, _gettimeofday);
SYSCALL_ALIAS(times, _times);
SYSCALL_ALIAS(unlink, _unlink);
SYSCALL_ALIAS(link, _link);
