/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one random stream of the tests, the demo and the bench: splitmix64,
 * seeded, so every run draws the same data and a failure reproduces.
 */
#ifndef PONE_TEST_RAND_H
#define PONE_TEST_RAND_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The next number of the stream whose state is *state. */
static inline uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* x well spread: the first number of the stream with state x. */
static inline uint64_t mix64(uint64_t x)
{
	return splitmix64(&x);
}

/* len bytes of the stream seeded by seed. */
static inline void fill_seeded(void *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t z = splitmix64(&seed);

		memcpy((unsigned char *)p + i, &z, len - i < 8 ? len - i : 8);
	}
}

#endif
