/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xxh3-64 without vector instructions, from libxxhash's own header-only
 * build: the same value as XXH3_64bits(), for CPUs (or emulators) on which
 * vector code is the slow path.
 */
#ifndef PONE_XXH3_SCALAR_H
#define PONE_XXH3_SCALAR_H

#include <stddef.h>
#include <stdint.h>

uint64_t xxh3_scalar(const void *p, size_t len);

#endif
