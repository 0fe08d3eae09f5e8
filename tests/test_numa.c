// SPDX-License-Identifier: GPL-2.0-only
/*
 * numa.h on this host: its nodes counted, and move_pages(2)'s query of a
 * process's pages, each on a node it has, or -1 where none is.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pone/page.h>

#include "numa.h"

static void nodes_of_own_pages(void **state)
{
	unsigned int nodes = numa_nodes_online();
	char *mem = mmap(NULL, 4 * PONE_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int16_t node[4] = { 99, 99, 99, 99 };

	(void)state;
	assert_true(mem != MAP_FAILED);
	assert_true(nodes >= 1);
	memset(mem, 1, PONE_PAGE_SIZE);
	memset(mem + 2 * PONE_PAGE_SIZE, 1, PONE_PAGE_SIZE);
	assert_int_equal(numa_nodes_of(getpid(), (uintptr_t)mem, 4, node), 0);
	assert_true(node[0] >= 0 && node[2] >= 0);
	/* Never touched: no page, no node. */
	assert_int_equal(node[1], -1);
	assert_int_equal(node[3], -1);
	assert_int_equal(numa_nodes_of(getpid(), (uintptr_t)mem, 513, node),
			 -EINVAL);
	munmap(mem, 4 * PONE_PAGE_SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nodes_of_own_pages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
