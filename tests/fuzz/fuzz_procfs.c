// SPDX-License-Identifier: GPL-2.0-only
/*
 * The /proc parsers, fed what a file of a process may hold; the first
 * byte picks which: 'm' a line of maps, 's' the stat line, 'S' smaps
 * (usage counted in the range of the seeds' guest RAM), 'c' a cmdline
 * for QEMU's -m. Each gets its own buffer, exactly as long as the text,
 * and its NUL where the parser takes a C string, for ASan to watch.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

#define RAM_START 0x7f0000000000ull
#define RAM_END 0x7f0100000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where a parser's result is only read, ASan still sees the reads. */
static volatile size_t sink;

static void maps_line(char *line)
{
	struct proc_map m;

	/* guestram.c reads the path as a C string. */
	if (!proc_parse_map(line, &m))
		sink = strlen(m.path);
}

static void stat_line(const char *line)
{
	uint64_t ticks;

	if (!proc_parse_start_time(line, &ticks))
		sink = (size_t)ticks;
}

static void smaps(const char *text, size_t len)
{
	struct proc_usage u;

	proc_parse_usage(text, len, RAM_START, RAM_END, &u);
	sink = (size_t)(u.rss + u.swap);
}

static void cmdline(const char *args, size_t len)
{
	uint64_t bytes;

	if (!proc_qemu_ram_size(args, len, &bytes))
		sink = (size_t)bytes;
}

/* The text in a buffer of its own, exactly as long, and a NUL if asked. */
static char *copy(const uint8_t *data, size_t len, bool nul)
{
	char *text = malloc(len + nul);

	if (text) {
		memcpy(text, data, len);
		if (nul)
			text[len] = 0;
	}
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool c_string = size && (data[0] == 'm' || data[0] == 's');
	char *text = size ? copy(data + 1, size - 1, c_string) : NULL;

	if (!text)
		return 0;
	switch (data[0]) {
	case 'm':
		maps_line(text);
		break;
	case 's':
		stat_line(text);
		break;
	case 'S':
		smaps(text, size - 1);
		break;
	case 'c':
		cmdline(text, size - 1);
		break;
	}
	free(text);
	return 0;
}
