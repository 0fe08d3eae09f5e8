/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The baseline KSM keeps its stable and unstable trees in: a red-black tree
 * of pages ordered by memcmp() of their whole 4 KiB, so every node on a
 * path costs a compare that reads both pages up to their first difference.
 * Nodes are embedded by the caller, as KSM embeds its rb_node in the
 * rmap_item and stable_node.
 */
#ifndef PONE_BENCH_RBTREE_H
#define PONE_BENCH_RBTREE_H

#include <stddef.h>
#include <stdbool.h>

struct rb_node {
	struct rb_node *child[2];	/* [0] left: smaller pages */
	struct rb_node *parent;
	const void *page;
	bool red;
};

struct rb_tree {
	struct rb_node *root;
	size_t count;
};

void rb_init(struct rb_tree *t);

/* Link n (n->page set) unless an equal page is in; returns the node that
 * holds the page now: n, or the one that was there. */
struct rb_node *rb_insert(struct rb_tree *t, struct rb_node *n);

/* Node holding a page equal to page, or NULL. */
struct rb_node *rb_lookup(const struct rb_tree *t, const void *page);

/* Black height when every red-black and order rule holds, else -1. */
int rb_check(const struct rb_tree *t);

#endif
