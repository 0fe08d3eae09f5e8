// SPDX-License-Identifier: GPL-2.0-only
#include "xxh3_scalar.h"

/* XXH_SCALAR; the header names the levels only after it has read this. */
#define XXH_VECTOR 0
#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t xxh3_scalar(const void *p, size_t len)
{
	return XXH3_64bits(p, len);
}
