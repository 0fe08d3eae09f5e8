// SPDX-License-Identifier: GPL-2.0-only
#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "request.h"
#include "status.h"

#define WHY_MAX 512

static char *dump(json_t *reply)
{
	char *s = reply ? json_dumps(reply, JSON_COMPACT) : NULL;

	json_decref(reply);
	return s;
}

static json_t *fail(const char *why)
{
	char text[WHY_MAX];

	snprintf(text, sizeof(text), "%s", why);
	request_reason_utf8(text);
	return json_pack("{s:b, s:s}", "ok", 0, "error", text);
}

static json_t *ok(const char *key, json_t *value)
{
	return json_pack("{s:b, s:o}", "ok", 1, key, value);
}

char *commands_error(void *ctx, const char *message)
{
	(void)ctx;
	return dump(fail(message));
}

static json_t *cmd_version(struct poned *d, const struct request *r, int fd)
{
	(void)d;
	(void)r;
	(void)fd;
	return ok("version", json_string(PONE_VERSION));
}

static json_t *cmd_status(struct poned *d, const struct request *r, int fd)
{
	(void)r;
	(void)fd;
	return ok("status", status_json(d));
}

static json_t *cmd_guests(struct poned *d, const struct request *r, int fd)
{
	json_t *all = status_json(d);
	json_t *list = json_incref(json_object_get(all, "guests"));

	(void)r;
	(void)fd;
	json_decref(all);
	return ok("guests", list);
}

static json_t *cmd_attach(struct poned *d, const struct request *r, int fd)
{
	char why[WHY_MAX];
	struct failure f;
	struct guest *g;
	int ret = guests_attach(&d->guests, r->pid, r->name, r->sharing, fd,
				&g, &f);

	if (ret) {
		guests_failure_text(&d->guests, ret, &f, r->pid, r->name, why,
				    sizeof(why));
		return fail(why);
	}
	/* Its zero pages found within seconds, not a period from now. */
	periods_pass_soon(&d->periods);
	return ok("guest", guest_json(d, g));
}

static json_t *cmd_detach(struct poned *d, const struct request *r, int fd)
{
	char why[WHY_MAX];
	struct failure f;
	int ret = guests_detach(&d->guests, r->pid, r->name, &f);

	(void)fd;
	if (ret) {
		guests_failure_text(&d->guests, ret, &f, r->pid, r->name, why,
				    sizeof(why));
		return fail(why);
	}
	return json_pack("{s:b}", "ok", 1);
}

/* All settings or none, judged together. */
static json_t *cmd_set(struct poned *d, const struct request *r, int fd)
{
	struct config next = d->cfg;
	struct periods_settings ps;
	char why[WHY_MAX];
	unsigned int threads;

	(void)fd;
	if (config_set(&next, r->nset, r->keys, r->values, why, sizeof(why)))
		return fail(why);
	threads = next.threads ? next.threads : d->engine_threads_max;
	if (threads > d->engine_threads_max) {
		snprintf(why, sizeof(why), "threads: at most %u (the workers "
			 "poned started with; raise threads in the config file "
			 "and restart)", d->engine_threads_max);
		return fail(why);
	}
	pone_engine_set_threads(d->engine, threads);
	pone_engine_set_stable_periods(d->engine, next.stable_periods);
	d->cfg = next;
	periods_settings_of(&d->cfg, &ps);
	periods_configure(&d->periods, &ps);
	log_info("settings changed by a control request");
	return json_pack("{s:b}", "ok", 1);
}

/* By enum request_cmd. */
static json_t *(*const commands[])(struct poned *d, const struct request *r,
				   int fd) = {
	[REQUEST_STATUS] = cmd_status,
	[REQUEST_GUESTS] = cmd_guests,
	[REQUEST_ATTACH] = cmd_attach,
	[REQUEST_DETACH] = cmd_detach,
	[REQUEST_SET] = cmd_set,
	[REQUEST_VERSION] = cmd_version,
};

static json_t *dispatch(struct poned *d, const char *line, int fd)
{
	struct request r;
	char why[WHY_MAX];
	json_t *reply;

	if (request_parse(line, &r, why, sizeof(why)))
		return fail(why);
	reply = commands[r.cmd](d, &r, fd);
	request_free(&r);
	return reply;
}

char *commands_run(void *ctx, const char *line, int fd)
{
	struct poned *d = ctx;
	char *reply = dump(dispatch(d, line, fd));

	/* Only attach keeps a passed fd, and it takes its own copy. */
	if (fd >= 0)
		close(fd);
	return reply;
}
