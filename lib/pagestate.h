/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Page state of one region: one 32-bit word a page, the page's 24-bit hash
 * as of the last pass (high bits) and its status byte (low bits).
 *
 * A page's word is rewritten by the one worker that scans it in a pass, and
 * its role in the dynamic tree (IN_TREE -> IN_GROUP, the head of a group)
 * by the worker whose page joins it; every change is one atomic update of
 * the word, so neither is lost.
 *
 * Stability: a page is a merge candidate once its hash was unchanged over
 * stable_periods consecutive merge periods, 2 (the same at three merge
 * passes in a row, with no change seen by any pass between that hashed it)
 * or 1 (at two), and a zero page is a recycle candidate once it was zero
 * at two passes in a row (one reclaim period). After one period, a page
 * that must wait two is CLEAN1, and one that need not is CLEAN2 at once.
 *
 * Every change of a word goes through this header. The transitions, and
 * who makes them (a pass's worker owns the pages it scans; "engine" is the
 * engine between passes, under its lock):
 *
 *   role                  to                     by
 *   any                   DIRTY, flags cleared   pagestate_update(): a new
 *                                                hash (the pass's worker)
 *   UNSEEN..CLEAN1        the next one up        pagestate_update() of a
 *                                                merge pass, unchanged
 *   CLEAN2                IN_TREE                the worker inserting it
 *   IN_TREE               MEMBER                 ... finding it equal
 *   IN_TREE               IN_GROUP               the worker whose page
 *                                                joins it first
 *   IN_TREE               CLEAN2                 ... whose insert failed
 *   IN_TREE..MEMBER       CLEAN2                 engine: out of the trees
 *   any                   UNSEEN, flags cleared  pagestate_forget(): not
 *                                                resident (the worker)
 *
 *   flag                  set by                 cleared by
 *   ZERO                  pagestate_update()     pagestate_update()
 *   MERGED                engine: merge reported a new hash
 *   CANONICAL             engine: static tree    a new hash
 *   MARK                  engine, while it applies the merges reported
 *   NEW                   the worker inserting   engine, after the pass
 *                         a page alone           (count_new_alone)
 */
#ifndef PONE_PAGESTATE_H
#define PONE_PAGESTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PS_HASH_MASK 0xffffff00u

/* Role: the low three bits. */
enum {
	PS_UNSEEN,
	PS_DIRTY,		/* changed since the last merge pass */
	PS_CLEAN0,		/* unchanged since the last merge pass */
	PS_CLEAN1,		/* ... and over the merge period before */
	PS_CLEAN2,		/* ... and the one before: a candidate */
	PS_IN_TREE,		/* a candidate in the dynamic tree, alone */
	PS_IN_GROUP,		/* ... with equal pages: a group's head */
	PS_MEMBER,		/* ... reported as a duplicate of its head */
};

#define PS_ROLE 7u

/* Masks of roles for pagestate_set_role(). */
#define PS_ROLE_BIT(role) (1u << (role))
#define PS_IN_ANY_GROUP (PS_ROLE_BIT(PS_IN_GROUP) | PS_ROLE_BIT(PS_MEMBER))
#define PS_IN_ANY_TREE (PS_ROLE_BIT(PS_IN_TREE) | PS_IN_ANY_GROUP)

enum {
	PS_ZERO = 1 << 3,	/* all zero bytes */
	PS_MERGED = 1 << 4,	/* shares a frame with its canonical page */
	PS_CANONICAL = 1 << 5,	/* a canonical page, in the static tree */
	PS_MARK = 1 << 6,	/* a member of the merges being applied */
	PS_NEW = 1 << 7,	/* entered the tree alone in this pass */
};

enum page_verdict {
	PV_CHANGED = 1 << 0,		/* hash differs from the last pass */
	PV_ZERO_STABLE = 1 << 1,	/* zero, and zero at the last pass */
	PV_MERGE_CANDIDATE = 1 << 2,	/* to be put in the dynamic tree */
	PV_STABLE = 1 << 3,		/* non-zero, stable two periods */
	PV_IN_GROUP = 1 << 4,		/* has equal pages */
};

#include <pone/backend.h>

struct pagestate {
	uint32_t *word;
	/* Bit i: ps_settled(word[i]), kept with every change of the word
	 * (the flags PS_MARK and PS_NEW do not count), so that a pass finds
	 * 64 settled pages in a load. */
	uint64_t *settled;
	uint64_t pages;
	enum pone_checksum checksum;	/* of every hash in word[] */
};

int pagestate_init(struct pagestate *ps, uint64_t pages,
		   enum pone_checksum checksum);
void pagestate_fini(struct pagestate *ps);

static inline uint32_t pagestate_word(const struct pagestate *ps, uint64_t i)
{
	return __atomic_load_n(&ps->word[i], __ATOMIC_ACQUIRE);
}

static inline uint32_t ps_hash(uint32_t word)
{
	return word & PS_HASH_MASK;
}

static inline unsigned int ps_role(uint32_t word)
{
	return word & PS_ROLE;
}

static inline bool ps_in_tree(uint32_t word)
{
	return PS_ROLE_BIT(ps_role(word)) & PS_IN_ANY_TREE;
}

static inline bool ps_in_group(uint32_t word)
{
	return PS_ROLE_BIT(ps_role(word)) & PS_IN_ANY_GROUP;
}

/*
 * Whether a pass that finds the page unwritten leaves its word as it is
 * and reports nothing of it: stable, not zero, and in the tree, in a
 * group, merged or canonical. In a steady state nearly all pages are.
 */
static inline bool ps_settled(uint32_t word)
{
	unsigned int role = ps_role(word);

	return !(word & PS_ZERO) && role >= PS_CLEAN2 &&
	       (role > PS_CLEAN2 || (word & (PS_MERGED | PS_CANONICAL)));
}

/* Settled bits of pages [first, first + 64), first a multiple of 64. */
static inline uint64_t pagestate_settled64(const struct pagestate *ps,
					   uint64_t first)
{
	return __atomic_load_n(&ps->settled[first / 64], __ATOMIC_ACQUIRE);
}

/* Bring page i's settled bit in line with its word, after a change. */
void pagestate_note(struct pagestate *ps, uint64_t i);

/* Whether a page whose word is word and whose hash now is hash changed. */
static inline bool ps_changed(uint32_t word, uint32_t hash)
{
	return ps_role(word) != PS_UNSEEN && ps_hash(word) != (hash & PS_HASH_MASK);
}

#define PS_STABLE_PERIODS 2	/* the default of stable_periods */

/* Record the hash of page i at a pass; returns PV_* bits. */
unsigned int pagestate_update(struct pagestate *ps, uint64_t i, uint32_t hash,
			      bool zero, bool merge_pass,
			      unsigned int stable_periods);

/* Whether a merge pass that finds a page with word unchanged makes it a
 * merge candidate. */
bool ps_enters_tree(uint32_t word, unsigned int stable_periods);

/* Move page i to role to if its role is one of the mask (bits 1 << role). */
bool pagestate_set_role(struct pagestate *ps, uint64_t i, unsigned int from,
			unsigned int to);

static inline void pagestate_set_flag(struct pagestate *ps, uint64_t i,
				      uint32_t flag)
{
	__atomic_fetch_or(&ps->word[i], flag, __ATOMIC_ACQ_REL);
	pagestate_note(ps, i);
}

static inline void pagestate_clear_flag(struct pagestate *ps, uint64_t i,
					uint32_t flag)
{
	__atomic_fetch_and(&ps->word[i], ~flag, __ATOMIC_ACQ_REL);
	pagestate_note(ps, i);
}

/* Page i was out of reach (not resident): it starts over, unseen. The
 * caller has taken it out of the trees. */
static inline void pagestate_forget(struct pagestate *ps, uint64_t i)
{
	__atomic_store_n(&ps->word[i], PS_UNSEEN, __ATOMIC_RELEASE);
	pagestate_note(ps, i);
}

/* Clear PS_NEW from every page; returns how many of them are still alone. */
uint64_t pagestate_count_new_alone(struct pagestate *ps);

static inline size_t pagestate_bytes(const struct pagestate *ps)
{
	return ps->pages * sizeof(*ps->word) +
	       (ps->pages + 63) / 64 * sizeof(*ps->settled);
}

#endif
