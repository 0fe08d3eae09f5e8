/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What /proc says of another process: its command line, its mappings, the
 * memory the kernel counts in a range of them, and its start time (a pid
 * with another start time is another process); and of the host's memory.
 * Errors are negative errno: -ESRCH when the process is gone, -EACCES when
 * we may not look.
 */
#ifndef PONED_PROCFS_H
#define PONED_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_map {
	uint64_t start, end;
	char perms[5];		/* "rw-s" */
	uint64_t offset;
	unsigned int dev_major, dev_minor;
	uint64_t inode;
	const char *path;	/* "" for anonymous memory */
};

/* Calls fn for each mapping until it returns non-zero, which is returned. */
int proc_maps(pid_t pid, int (*fn)(void *ctx, const struct proc_map *m),
	      void *ctx);

/* The NUL-separated arguments; *len bytes. Caller frees. */
int proc_cmdline(pid_t pid, char **args, size_t *len);

/* The process whose command line holds the argument opt followed by val
 * (QEMU's "-uuid" and a domain's UUID), looked for in all of /proc;
 * -ESRCH if none does. */
int proc_find_arg(const char *opt, const char *val, pid_t *pid);

/* Start time in clock ticks since boot (field 22 of /proc/PID/stat). */
int proc_start_time(pid_t pid, uint64_t *ticks);

/* CPU time used, user and system, in clock ticks (fields 14 and 15). */
int proc_cpu_ticks(pid_t pid, uint64_t *ticks);

/* Resident and swapped bytes of the mappings inside [start, end). */
struct proc_usage {
	uint64_t rss, swap;
};
int proc_usage(pid_t pid, uint64_t start, uint64_t end, struct proc_usage *u);

/* Fields of the meminfo text at path ("/proc/meminfo"): n keys
 * ("MemTotal"), each one's value in bytes at its index; -EIO if one is
 * missing. */
int proc_meminfo(const char *path, size_t n, const char *const keys[],
		 uint64_t bytes[]);

/* Size of the value of "-m" (QEMU's RAM size), in bytes; -ENOENT if none. */
int proc_qemu_ram_size(const char *args, size_t len, uint64_t *bytes);

/*
 * The parsers of those files, on text from anywhere (the fuzzers feed
 * them): what the functions above make of the same text, -EIO where they
 * would fail for its sake.
 */

/* One line of maps, NUL-terminated; its newline goes, and m->path points
 * into it. */
int proc_parse_map(char *line, struct proc_map *m);

/* The stat line, NUL-terminated. */
int proc_parse_start_time(const char *stat, uint64_t *ticks);

/* The smaps text, len bytes. */
int proc_parse_usage(const char *smaps, size_t len, uint64_t start,
		     uint64_t end, struct proc_usage *u);

#endif
