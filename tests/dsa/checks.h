/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Checks a DSA backend must pass whatever executes its descriptors: the
 * software executor here, a real work queue on a machine that has one.
 * They fail through cmocka's asserts.
 */
#ifndef PONE_TEST_DSA_CHECKS_H
#define PONE_TEST_DSA_CHECKS_H

#include <pone/backend.h>

/* Compares, zero tests and hashes of assorted pages equal the CPU's (the
 * hash: the CRC-32C of the spec), in calls of 1 to 300 pages. */
void check_ops_match_cpu(struct pone_backend *be);

/* The engine on be finds the same zero pages and duplicate groups, with
 * the same pass counts, as on the CPU backend, on one memory image. */
void check_engine_matches_cpu(struct pone_backend *be, unsigned int threads);

#endif
