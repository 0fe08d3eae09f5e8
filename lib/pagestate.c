// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>

#include "pagestate.h"

int pagestate_init(struct pagestate *ps, uint64_t pages,
		   enum pone_checksum checksum)
{
	ps->pages = pages;
	ps->checksum = checksum;
	ps->word = calloc(pages ? pages : 1, sizeof(*ps->word));
	ps->settled = calloc(pages ? (pages + 63) / 64 : 1,
			     sizeof(*ps->settled));
	if (ps->word && ps->settled)
		return 0;
	pagestate_fini(ps);
	return -ENOMEM;
}

void pagestate_fini(struct pagestate *ps)
{
	free(ps->word);
	free(ps->settled);
	ps->word = NULL;
	ps->settled = NULL;
}

/*
 * Whoever changes a word notes it after; if another change came between,
 * its own note follows, and the loop leaves the bit as of a word that
 * stayed. Only the word's owner (the worker scanning it, or the engine
 * between passes) makes a page unsettled, so no pass sees a page settled
 * that is not.
 */
void pagestate_note(struct pagestate *ps, uint64_t i)
{
	uint64_t *m = &ps->settled[i / 64], bit = 1ull << (i % 64);
	uint32_t w;

	do {
		w = pagestate_word(ps, i);
		if (ps_settled(w) == !!(__atomic_load_n(m, __ATOMIC_RELAXED) &
					bit))
			continue;
		if (ps_settled(w))
			__atomic_fetch_or(m, bit, __ATOMIC_ACQ_REL);
		else
			__atomic_fetch_and(m, ~bit, __ATOMIC_ACQ_REL);
	} while (pagestate_word(ps, i) != w);
}

static unsigned int merge_tick(unsigned int role, unsigned int stable_periods)
{
	if (role == PS_CLEAN0 && stable_periods < 2)
		return PS_CLEAN2;
	return role == PS_DIRTY ? PS_CLEAN0 : role < PS_CLEAN2 ? role + 1 : role;
}

static uint32_t next_word(uint32_t w, uint32_t hash, bool zero, bool merge,
			  unsigned int stable_periods, unsigned int *verdict)
{
	*verdict = 0;
	if (ps_role(w) == PS_UNSEEN || ps_changed(w, hash)) {
		/* A new content starts over: it is in no tree, has not been
		 * merged nor recycled, and its periods count from here. */
		if (ps_role(w) != PS_UNSEEN)
			*verdict |= PV_CHANGED;
		w = (hash & PS_HASH_MASK) | PS_DIRTY | (zero ? PS_ZERO : 0);
	} else if (zero) {
		*verdict |= PV_ZERO_STABLE;
	}
	if (merge) {
		w = (w & ~(uint32_t)PS_ROLE) |
		    merge_tick(ps_role(w), stable_periods);
		if (!zero && ps_role(w) == PS_CLEAN2 &&
		    !(w & (PS_MERGED | PS_CANONICAL)))
			*verdict |= PV_MERGE_CANDIDATE;
	}
	if (!zero && ps_role(w) >= PS_CLEAN2)
		*verdict |= PV_STABLE;
	if (ps_in_group(w))
		*verdict |= PV_IN_GROUP;
	return w;
}

unsigned int pagestate_update(struct pagestate *ps, uint64_t i, uint32_t hash,
			      bool zero, bool merge_pass,
			      unsigned int stable_periods)
{
	uint32_t old = pagestate_word(ps, i), new;
	unsigned int verdict;

	do {
		new = next_word(old, hash, zero, merge_pass, stable_periods,
				&verdict);
	} while (!__atomic_compare_exchange_n(&ps->word[i], &old, new, false,
					      __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	if (ps_settled(old) != ps_settled(new))
		pagestate_note(ps, i);
	return verdict;
}

bool ps_enters_tree(uint32_t word, unsigned int stable_periods)
{
	unsigned int verdict;

	next_word(word, ps_hash(word), word & PS_ZERO, true, stable_periods,
		  &verdict);
	return verdict & PV_MERGE_CANDIDATE;
}

bool pagestate_set_role(struct pagestate *ps, uint64_t i, unsigned int from,
			unsigned int to)
{
	uint32_t old = pagestate_word(ps, i), new;

	do {
		if (!(from & (1u << ps_role(old))))
			return false;
		new = (old & ~(uint32_t)PS_ROLE) | to;
	} while (!__atomic_compare_exchange_n(&ps->word[i], &old, new, false,
					      __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	if (ps_settled(old) != ps_settled(new))
		pagestate_note(ps, i);
	return true;
}

uint64_t pagestate_count_new_alone(struct pagestate *ps)
{
	uint64_t i, n = 0;

	for (i = 0; i < ps->pages; i++) {
		uint32_t w = ps->word[i];

		if (w & PS_NEW) {
			n += ps_role(w) == PS_IN_TREE;
			ps->word[i] = w & ~(uint32_t)PS_NEW;
		}
	}
	return n;
}
