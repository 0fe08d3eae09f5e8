/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Errors, one convention for all of poned:
 *
 * - A function that can fail returns 0 or a negative errno, and forwards
 *   the errno of a call of its own unchanged; no layer turns it into text.
 * - A failure the operator can act on (a pid that is no QEMU, a module of
 *   another release) is also named by a code of the module's own, in the
 *   struct failure its caller passed (NULL: not asked). Codes are listed
 *   in the module's header and say what was being done and what was found,
 *   never which errno came with it.
 * - Words are made once, where a failure reaches the operator (a control
 *   reply, a log line), from the code, the errno and what the caller knows
 *   (the pid, the name): see guests_failure_text().
 * - Where a function's job is to judge the operator's own text (the config
 *   file, a control request) or to say what a probe found (DSA), its
 *   verdict is words, and it writes them into a buffer it is given: a
 *   file, a line and a key; the devices looked at.
 */
#ifndef PONED_ERROR_H
#define PONED_ERROR_H

struct failure {
	int code;	/* the module's, 0: none named */
};

/* Names the failure, if the caller asked; returns err (negative errno). */
static inline int failure(struct failure *f, int code, int err)
{
	if (f)
		f->code = code;
	return err;
}

#endif
