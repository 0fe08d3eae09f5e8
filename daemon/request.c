// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "request.h"

/* The reason, and -EINVAL: what every refusal returns. */
static int refuse(char *why, size_t len, const char *reason)
{
	snprintf(why, len, "%s", reason);
	return -EINVAL;
}

/* "pid" must be a positive integer and "name" a string, where present. */
static int target(struct request *r, char *why, size_t len)
{
	json_t *p = json_object_get(r->json, "pid");
	json_t *n = json_object_get(r->json, "name");

	if (p && (!json_is_integer(p) || json_integer_value(p) <= 0 ||
		  json_integer_value(p) > 0x7fffffff))
		return refuse(why, len, "\"pid\" must be a positive integer");
	if (n && !json_is_string(n))
		return refuse(why, len, "\"name\" must be a string");
	r->pid = p ? (pid_t)json_integer_value(p) : 0;
	r->name = n ? json_string_value(n) : NULL;
	return 0;
}

static int parse_attach(struct request *r, char *why, size_t len)
{
	json_t *sharing = json_object_get(r->json, "sharing");
	int ret = target(r, why, len);

	if (!ret && !r->pid)
		ret = refuse(why, len, "attach needs \"pid\"");
	if (!ret && sharing && !json_is_string(sharing))
		ret = refuse(why, len, "\"sharing\" must be a string");
	r->sharing = sharing ? json_string_value(sharing) : NULL;
	return ret;
}

static int parse_detach(struct request *r, char *why, size_t len)
{
	int ret = target(r, why, len);

	if (!ret && !r->pid == !r->name)
		ret = refuse(why, len,
			     "detach needs \"pid\" or \"name\", not both");
	return ret;
}

/* A value as text, the way the config file has it; whole, or -E2BIG: a
 * value cut could be another valid one ("1" of "1x..."). */
static int value_text(json_t *v, char *buf, size_t len)
{
	int n;

	if (json_is_string(v))
		n = snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		n = snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		n = snprintf(buf, len, "%g", json_real_value(v));
	else
		return -EINVAL;
	return (size_t)n < len ? 0 : -E2BIG;
}

static int parse_set(struct request *r, char *why, size_t len)
{
	json_t *values = json_object_get(r->json, "values"), *v;
	const char *key;

	if (!json_is_object(values) || !json_object_size(values))
		return refuse(why, len, "set needs \"values\": "
			      "{\"KEY\": VALUE, ...}");
	if (json_object_size(values) > REQUEST_SET_MAX)
		return refuse(why, len, "set: too many settings at once");
	json_object_foreach(values, key, v) {
		int ret = value_text(v, r->text[r->nset], sizeof(r->text[0]));

		if (ret) {
			snprintf(why, len, "%s: %s", key, ret == -E2BIG ?
				 "value longer than 255 bytes" :
				 "value must be a string or a number");
			return -EINVAL;
		}
		r->keys[r->nset] = key;
		r->values[r->nset] = r->text[r->nset];
		r->nset++;
	}
	return 0;
}

static int parse_none(struct request *r, char *why, size_t len)
{
	(void)r;
	(void)why;
	(void)len;
	return 0;
}

static const struct command {
	const char *name;
	int (*parse)(struct request *r, char *why, size_t len);
} commands[] = {
	[REQUEST_STATUS] = { "status", parse_none },
	[REQUEST_GUESTS] = { "guests", parse_none },
	[REQUEST_ATTACH] = { "attach", parse_attach },
	[REQUEST_DETACH] = { "detach", parse_detach },
	[REQUEST_SET] = { "set", parse_set },
	[REQUEST_VERSION] = { "version", parse_none },
};

static int parse_cmd(struct request *r, char *why, size_t len)
{
	const char *name = json_string_value(json_object_get(r->json, "cmd"));
	size_t i;

	for (i = 0; name && i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(name, commands[i].name)) {
			r->cmd = (enum request_cmd)i;
			return commands[i].parse(r, why, len);
		}
	}
	snprintf(why, len, "unknown command%s%s: expected status, guests, "
		 "attach, detach, set or version", name ? " " : "",
		 name ? name : " (no \"cmd\")");
	return -EINVAL;
}

int request_parse(const char *line, struct request *r, char *why,
		  size_t len)
{
	json_error_t err;
	int ret;

	*r = (struct request){
		.json = json_loads(line, JSON_REJECT_DUPLICATES, &err),
	};
	if (!json_is_object(r->json)) {
		snprintf(why, len, "malformed request: %s",
			 r->json ? "not a JSON object" : err.text);
		ret = -EINVAL;
	} else {
		ret = parse_cmd(r, why, len);
	}
	if (ret)
		request_free(r);
	return ret;
}

void request_free(struct request *r)
{
	json_decref(r->json);
	r->json = NULL;
}

/* Bytes of the character s starts with, 0 if none: UTF-8 as jansson takes
 * it, with no overlong forms, surrogates or code points past U+10FFFF. */
static size_t utf8_char(const unsigned char *s)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	n = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	c = s[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* the NUL ends it too */
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

void request_reason_utf8(char *why)
{
	while (*why) {
		size_t n = utf8_char((unsigned char *)why);

		if (n)
			why += n;
		else
			*why++ = '?';
	}
}
