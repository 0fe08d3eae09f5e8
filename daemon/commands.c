// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
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
	return json_pack("{s:b, s:s}", "ok", 0, "error", why);
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

static json_t *cmd_version(struct poned *d, json_t *req, int fd)
{
	(void)d;
	(void)req;
	(void)fd;
	return ok("version", json_string(PONE_VERSION));
}

static json_t *cmd_status(struct poned *d, json_t *req, int fd)
{
	(void)req;
	(void)fd;
	return ok("status", status_json(d));
}

static json_t *cmd_guests(struct poned *d, json_t *req, int fd)
{
	json_t *all = status_json(d);
	json_t *list = json_incref(json_object_get(all, "guests"));

	(void)req;
	(void)fd;
	json_decref(all);
	return ok("guests", list);
}

/* "pid" must be a positive integer and "name" a string, where present. */
static const char *target(json_t *req, pid_t *pid, const char **name)
{
	json_t *p = json_object_get(req, "pid");
	json_t *n = json_object_get(req, "name");

	*pid = 0;
	*name = NULL;
	if (p && (!json_is_integer(p) || json_integer_value(p) <= 0 ||
		  json_integer_value(p) > 0x7fffffff))
		return "\"pid\" must be a positive integer";
	if (n && !json_is_string(n))
		return "\"name\" must be a string";
	*pid = p ? (pid_t)json_integer_value(p) : 0;
	*name = n ? json_string_value(n) : NULL;
	return NULL;
}

static json_t *cmd_attach(struct poned *d, json_t *req, int fd)
{
	char why[WHY_MAX];
	const char *name, *bad;
	struct failure f;
	struct guest *g;
	pid_t pid;
	int ret;

	bad = target(req, &pid, &name);
	if (!bad && !pid)
		bad = "attach needs \"pid\"";
	if (bad)
		return fail(bad);
	ret = guests_attach(&d->guests, pid, name, fd, &g, &f);
	if (ret) {
		guests_failure_text(&d->guests, ret, &f, pid, name, why,
				    sizeof(why));
		return fail(why);
	}
	return ok("guest", guest_json(d, g));
}

static json_t *cmd_detach(struct poned *d, json_t *req, int fd)
{
	char why[WHY_MAX];
	const char *name, *bad;
	struct failure f;
	pid_t pid;
	int ret;

	(void)fd;
	bad = target(req, &pid, &name);
	if (!bad && !pid == !name)
		bad = "detach needs \"pid\" or \"name\", not both";
	if (bad)
		return fail(bad);
	ret = guests_detach(&d->guests, pid, name, &f);
	if (ret) {
		guests_failure_text(&d->guests, ret, &f, pid, name, why,
				    sizeof(why));
		return fail(why);
	}
	return json_pack("{s:b}", "ok", 1);
}

/* A value as text, the way the config file has it. */
static int value_text(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%g", json_real_value(v));
	else
		return -EINVAL;
	return 0;
}

/* More than there are settings that change at run time. */
#define SET_MAX 16

/* All settings or none, judged together. */
static json_t *cmd_set(struct poned *d, json_t *req, int fd)
{
	json_t *values = json_object_get(req, "values"), *v;
	struct config next = d->cfg;
	struct periods_settings ps;
	char why[WHY_MAX], text[SET_MAX][256];
	const char *key, *keys[SET_MAX], *texts[SET_MAX];
	unsigned int threads;
	size_t n = 0;

	(void)fd;
	if (!json_is_object(values) || !json_object_size(values))
		return fail("set needs \"values\": {\"KEY\": VALUE, ...}");
	if (json_object_size(values) > SET_MAX)
		return fail("set: too many settings at once");
	json_object_foreach(values, key, v) {
		if (value_text(v, text[n], sizeof(text[n]))) {
			snprintf(why, sizeof(why), "%s: value must be a string "
				 "or a number", key);
			return fail(why);
		}
		keys[n] = key;
		texts[n] = text[n];
		n++;
	}
	if (config_set(&next, n, keys, texts, why, sizeof(why)))
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
	pone_engine_set_cpu_limit(d->engine, next.cpu_limit);
	d->cfg = next;
	periods_settings_of(&d->cfg, &ps);
	periods_configure(&d->periods, &ps);
	log_info("settings changed by a control request");
	return json_pack("{s:b}", "ok", 1);
}

static const struct command {
	const char *name;
	json_t *(*run)(struct poned *d, json_t *req, int fd);
} commands[] = {
	{ "status", cmd_status },
	{ "guests", cmd_guests },
	{ "attach", cmd_attach },
	{ "detach", cmd_detach },
	{ "set", cmd_set },
	{ "version", cmd_version },
};

static json_t *dispatch(struct poned *d, const char *line, int fd)
{
	json_error_t err;
	json_t *req = json_loads(line, JSON_REJECT_DUPLICATES, &err), *reply;
	const char *name;
	char why[WHY_MAX];
	size_t i;

	if (!json_is_object(req)) {
		snprintf(why, sizeof(why), "malformed request: %s",
			 req ? "not a JSON object" : err.text);
		json_decref(req);
		return fail(why);
	}
	name = json_string_value(json_object_get(req, "cmd"));
	for (i = 0; name && i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(name, commands[i].name)) {
			reply = commands[i].run(d, req, fd);
			json_decref(req);
			return reply;
		}
	}
	snprintf(why, sizeof(why), "unknown command%s%s: expected status, "
		 "guests, attach, detach, set or version", name ? " " : "",
		 name ? name : " (no \"cmd\")");
	json_decref(req);
	return fail(why);
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
