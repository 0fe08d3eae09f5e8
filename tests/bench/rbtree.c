// SPDX-License-Identifier: GPL-2.0-only
/*
 * Textbook red-black tree (Cormen et al.), with the two mirror cases of
 * each step folded into one by indexing children by direction. It is the
 * baseline, so it does what KSM does and nothing cleverer: a full memcmp()
 * of the key page against the page at every node of the path.
 */
#include <string.h>

#include "rbtree.h"

#define PAGE_BYTES 4096

void rb_init(struct rb_tree *t)
{
	t->root = NULL;
	t->count = 0;
}

static int page_cmp(const void *a, const void *b)
{
	return memcmp(a, b, PAGE_BYTES);
}

/* Lift x's child on side !dir into x's place; x goes down on side dir. */
static void rotate(struct rb_tree *t, struct rb_node *x, int dir)
{
	struct rb_node *y = x->child[!dir], *p = x->parent;

	x->child[!dir] = y->child[dir];
	if (y->child[dir])
		y->child[dir]->parent = x;
	y->parent = p;
	if (!p)
		t->root = y;
	else
		p->child[p->child[1] == x] = y;
	y->child[dir] = x;
	x->parent = y;
}

static void insert_fixup(struct rb_tree *t, struct rb_node *z)
{
	struct rb_node *p, *g, *u;

	/* The root is black, so a red parent always has a parent. */
	while ((p = z->parent) && p->red) {
		int side;

		g = p->parent;
		side = g->child[1] == p;
		u = g->child[!side];
		if (u && u->red) {
			p->red = false;
			u->red = false;
			g->red = true;
			z = g;
			continue;
		}
		if (z == p->child[!side]) {
			/* Inner grandchild: make it an outer one first. */
			rotate(t, p, side);
			z = p;
			p = z->parent;
		}
		p->red = false;
		g->red = true;
		rotate(t, g, !side);
	}
	t->root->red = false;
}

struct rb_node *rb_insert(struct rb_tree *t, struct rb_node *n)
{
	struct rb_node *p = NULL, **link = &t->root;

	while (*link) {
		int c = page_cmp(n->page, (*link)->page);

		if (!c)
			return *link;
		p = *link;
		link = &p->child[c > 0];
	}
	n->child[0] = n->child[1] = NULL;
	n->parent = p;
	n->red = true;
	*link = n;
	t->count++;
	insert_fixup(t, n);
	return n;
}

struct rb_node *rb_lookup(const struct rb_tree *t, const void *page)
{
	struct rb_node *x = t->root;

	while (x) {
		int c = page_cmp(page, x->page);

		if (!c)
			return x;
		x = x->child[c > 0];
	}
	return NULL;
}

/* Pages of x's subtree must lie strictly between lo and hi (NULL: open). */
static int check(const struct rb_node *x, const void *lo, const void *hi)
{
	int h[2], d;

	if (!x)
		return 1;
	if ((lo && page_cmp(x->page, lo) <= 0) ||
	    (hi && page_cmp(x->page, hi) >= 0))
		return -1;
	for (d = 0; d < 2; d++) {
		const struct rb_node *c = x->child[d];

		if (c && (c->parent != x || (x->red && c->red)))
			return -1;
		h[d] = check(c, d ? x->page : lo, d ? hi : x->page);
		if (h[d] < 0)
			return -1;
	}
	if (h[0] != h[1])
		return -1;
	return h[0] + !x->red;
}

int rb_check(const struct rb_tree *t)
{
	if (t->root && (t->root->red || t->root->parent))
		return -1;
	return check(t->root, NULL, NULL);
}
