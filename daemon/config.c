// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define DEFAULT_SOCKET "/run/pone/poned.sock"
#define DEFAULT_STATE_DIR "/var/lib/pone"

static const char *const thp_names[] = { "never", "idle", "always" };

void config_defaults(struct config *c)
{
	*c = (struct config){
		.threads = 0,
		.reclaim_period = 10,
		.merge_period = 600,
		.stable_periods = 2,
		.cpu_limit = 1.0,
		.mode = PRESSURE_ALWAYS,
		/* KubeVirt's line for KSM: 20 % of the memory available. */
		.pressure = { .available_pct = 20, .stall_pct = 10 },
		.idle_cpu_limit = 0.05,
		.nice = 10,
		.thp_split = THP_IDLE,
		.log_level = LOG_LEVEL_INFO,
		.socket = DEFAULT_SOCKET,
		.state_dir = DEFAULT_STATE_DIR,
		.dsa = "auto",
		.write_tracking = true,
		.ksm_steer = true,
		.libvirt = "auto",
		.merge_across_nodes = true,
	};
}

const char *thp_split_name(enum thp_split t)
{
	return thp_names[t];
}

static int parse_uint(const char *v, unsigned long min, unsigned long max,
		      unsigned int *out)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || *v == '-' || n < min || n > max)
		return -EINVAL;
	*out = (unsigned int)n;
	return 0;
}

static int set_path(char *dst, size_t size, const char *v)
{
	if (v[0] != '/' || strlen(v) >= size)
		return -EINVAL;
	strcpy(dst, v);
	return 0;
}

/* A number; what follows it in *rest. */
static int parse_real(const char *v, double *d, const char **rest)
{
	char *end;

	errno = 0;
	*d = strtod(v, &end);
	if (errno || end == v)
		return -EINVAL;
	*rest = end;
	return 0;
}

static int parse_cores(const char *v, double min, double *out)
{
	const char *rest;
	double d;

	if (parse_real(v, &d, &rest) || *rest || !(d >= min && d <= 1024))
		return -EINVAL;
	*out = d;
	return 0;
}

static int set_cpu_limit(struct config *c, const char *v)
{
	return parse_cores(v, 0.05, &c->cpu_limit);
}

static int set_idle_cpu_limit(struct config *c, const char *v)
{
	return parse_cores(v, 0.01, &c->idle_cpu_limit);
}

static int set_mode(struct config *c, const char *v)
{
	if (strcmp(v, "always") && strcmp(v, "pressure"))
		return -EINVAL;
	c->mode = strcmp(v, "always") ? PRESSURE_ON_SHORT : PRESSURE_ALWAYS;
	return 0;
}

/* "20%" of MemTotal, or a size: bytes, or K, M, G, T (binary units). */
static int set_available(struct config *c, const char *v)
{
	static const char units[] = "KMGT";
	const char *rest, *u;
	double d;

	if (parse_real(v, &d, &rest) || !(d >= 0))
		return -EINVAL;
	if (!strcmp(rest, "%")) {
		if (!(d < 100))
			return -EINVAL;
		c->pressure.available_pct = d;
		c->pressure.available_bytes = 0;
		return 0;
	}
	if (*rest) {
		u = strchr(units, toupper((unsigned char)*rest));
		if (!u || rest[1])
			return -EINVAL;
		d *= (double)(1ull << 10 * (u - units + 1));
	}
	if (!(d < 0x1p60))
		return -EINVAL;
	c->pressure.available_pct = 0;
	c->pressure.available_bytes = (uint64_t)d;
	return 0;
}

/* Percent, with or without its sign. */
static int set_stall(struct config *c, const char *v)
{
	const char *rest;
	double d;

	if (parse_real(v, &d, &rest) || (*rest && strcmp(rest, "%")) ||
	    !(d > 0 && d <= 100))
		return -EINVAL;
	c->pressure.stall_pct = d;
	return 0;
}

static int set_thp(struct config *c, const char *v)
{
	size_t i;

	for (i = 0; i < sizeof(thp_names) / sizeof(thp_names[0]); i++) {
		if (!strcmp(v, thp_names[i])) {
			c->thp_split = (enum thp_split)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int set_nice(struct config *c, const char *v)
{
	unsigned int n;
	int ret = parse_uint(v[0] == '-' ? v + 1 : v, 0, 20, &n);

	if (ret || (v[0] != '-' && n > 19))
		return -EINVAL;
	c->nice = v[0] == '-' ? -(int)n : (int)n;
	return 0;
}

static int set_threads(struct config *c, const char *v)
{
	return parse_uint(v, 0, 1024, &c->threads);
}

static int set_reclaim(struct config *c, const char *v)
{
	return parse_uint(v, 1, 86400, &c->reclaim_period);
}

static int set_merge(struct config *c, const char *v)
{
	return parse_uint(v, 1, 7 * 86400, &c->merge_period);
}

static int set_stable_periods(struct config *c, const char *v)
{
	return parse_uint(v, 1, 2, &c->stable_periods);
}

static int set_log_level(struct config *c, const char *v)
{
	return log_level_parse(v, &c->log_level);
}

static int set_socket(struct config *c, const char *v)
{
	return set_path(c->socket, sizeof(c->socket), v);
}

static int set_state_dir(struct config *c, const char *v)
{
	return set_path(c->state_dir, sizeof(c->state_dir), v);
}

/* node_exporter's textfile collector reads only files named *.prom. */
static int set_metrics_file(struct config *c, const char *v)
{
	size_t n = strlen(v);

	if (!n) {
		c->metrics_file[0] = '\0';
		return 0;
	}
	if (n < 6 || strcmp(v + n - 5, ".prom"))
		return -EINVAL;
	return set_path(c->metrics_file, sizeof(c->metrics_file), v);
}

/* The name is the probe's to judge; only its shape is checked here. */
static int set_dsa(struct config *c, const char *v)
{
	size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789.");

	if (!*v || v[n] || n >= sizeof(c->dsa))
		return -EINVAL;
	strcpy(c->dsa, v);
	return 0;
}

static int set_write_tracking(struct config *c, const char *v)
{
	if (strcmp(v, "auto") && strcmp(v, "off"))
		return -EINVAL;
	c->write_tracking = !strcmp(v, "auto");
	return 0;
}

static int set_ksm(struct config *c, const char *v)
{
	if (strcmp(v, "steer") && strcmp(v, "off"))
		return -EINVAL;
	c->ksm_steer = !strcmp(v, "steer");
	return 0;
}

/* A URI is libvirt's to judge: only its shape is checked here. */
static int set_libvirt(struct config *c, const char *v)
{
	size_t i, n = strlen(v);

	if (strcmp(v, "auto") && strcmp(v, "off") && !strstr(v, "://"))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (v[i] <= ' ')
			return -EINVAL;
	if (n >= sizeof(c->libvirt))
		return -EINVAL;
	strcpy(c->libvirt, v);
	return 0;
}

static int set_sharing(struct config *c, const char *v)
{
	if (strcmp(v, "host") && strcmp(v, "guest"))
		return -EINVAL;
	c->own_domains = !strcmp(v, "guest");
	return 0;
}

static int set_merge_across_nodes(struct config *c, const char *v)
{
	if (strcmp(v, "yes") && strcmp(v, "no"))
		return -EINVAL;
	c->merge_across_nodes = !strcmp(v, "yes");
	return 0;
}

static const struct setting {
	const char *key;
	int (*set)(struct config *c, const char *v);
	bool runtime;
	const char *expect;
} settings[] = {
	{ "threads", set_threads, true, "0 (one per CPU) up to 1024" },
	{ "reclaim_period", set_reclaim, true, "seconds, 1 to 86400" },
	{ "merge_period", set_merge, true, "seconds, 1 to 604800" },
	{ "stable_periods", set_stable_periods, true, "1 or 2" },
	{ "cpu_limit", set_cpu_limit, true, "cores, 0.05 to 1024" },
	{ "mode", set_mode, true, "always or pressure" },
	{ "pressure_available", set_available, true,
	  "a percent of MemTotal below 100 (20%) or a size (512M, 2G)" },
	{ "pressure_stall", set_stall, true, "a percent above 0, up to 100" },
	{ "idle_cpu_limit", set_idle_cpu_limit, true, "cores, 0.01 to 1024" },
	{ "thp_split", set_thp, true, "never, idle or always" },
	{ "nice", set_nice, false, "-20 to 19" },
	{ "log_level", set_log_level, false,
	  "error, warning, info or debug" },
	{ "socket", set_socket, false, "an absolute path, < 108 bytes" },
	{ "state_dir", set_state_dir, false, "an absolute path" },
	{ "metrics_file", set_metrics_file, false,
	  "empty, or an absolute path ending in .prom" },
	{ "dsa", set_dsa, false,
	  "off, auto, a device (dsa0) or a work queue (wq0.1)" },
	{ "write_tracking", set_write_tracking, false, "auto or off" },
	{ "ksm", set_ksm, false, "steer or off" },
	{ "sharing", set_sharing, false, "host or guest" },
	{ "libvirt", set_libvirt, false,
	  "auto, off or a libvirt URI (qemu:///system)" },
	{ "merge_across_nodes", set_merge_across_nodes, false, "yes or no" },
};

static const struct setting *find(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (!strcmp(settings[i].key, key))
			return &settings[i];
	return NULL;
}

bool config_runtime_key(const char *key)
{
	const struct setting *s = find(key);

	return s && s->runtime;
}

/* Settings that are each fine but wrong together: why, and the fix. */
static bool inconsistent(const struct config *c, char *why, size_t len)
{
	if (c->merge_period < c->reclaim_period) {
		snprintf(why, len, "merge_period (%u s) is shorter than "
			 "reclaim_period (%u s): lengthen merge_period or "
			 "shorten reclaim_period", c->merge_period,
			 c->reclaim_period);
		return true;
	}
	if (c->idle_cpu_limit > c->cpu_limit) {
		snprintf(why, len, "idle_cpu_limit (%g cores) is above "
			 "cpu_limit (%g cores): lower idle_cpu_limit or raise "
			 "cpu_limit", c->idle_cpu_limit, c->cpu_limit);
		return true;
	}
	return false;
}

/* One setting, checked alone; c changes only if it is valid. Whether it
 * fits the others is judged once all of a file or a set are in. */
static int apply(struct config *c, const char *where, const char *key,
		 const char *value, bool runtime_only, char *err, size_t len)
{
	const struct setting *s = find(key);
	struct config next = *c;

	if (!s || (runtime_only && !s->runtime)) {
		snprintf(err, len, "%s%s: %s", where, key,
			 s ? "can only be set in the config file; restart poned"
			   : "unknown setting");
		return -EINVAL;
	}
	if (s->set(&next, value)) {
		snprintf(err, len, "%s%s: '%s' is not valid: expected %s",
			 where, key, value, s->expect);
		return -EINVAL;
	}
	*c = next;
	return 0;
}

int config_set(struct config *c, size_t n, const char *const keys[],
	       const char *const values[], char *err, size_t len)
{
	struct config next = *c;
	size_t i;

	for (i = 0; i < n; i++)
		if (apply(&next, "", keys[i], values[i], true, err, len))
			return -EINVAL;
	if (inconsistent(&next, err, len))
		return -EINVAL;
	*c = next;
	return 0;
}

struct load {
	const char *path;
	struct config *c;
	char *err;
	size_t len;
	FILE *f;
	int line;
};

/* Whether the line just read into str (num bytes) went on past it. */
static bool cut(const char *str, int num, FILE *f)
{
	size_t n = strlen(str);
	int c;

	if (n < (size_t)num - 1 || str[n - 1] == '\n')
		return false;
	c = getc(f);		/* its newline, or more of it */
	return c != EOF && c != '\n';
}

/*
 * libinih's handler is not told the line: the reader counts them. libinih
 * reads a line in pieces of its buffer's size and parses each as a line,
 * so that the tail of a long comment could set a key: a line longer than
 * the buffer is refused instead.
 */
static char *read_line(char *str, int num, void *user)
{
	struct load *l = user;

	l->line++;
	if (!fgets(str, num, l->f))
		return NULL;
	if (!cut(str, num, l->f))
		return str;
	if (!l->err[0])
		snprintf(l->err, l->len, "%s:%d: line longer than %d bytes",
			 l->path, l->line, num - 1);
	return NULL;
}

static int on_entry(void *user, const char *section, const char *key,
		    const char *value)
{
	struct load *l = user;
	char where[PATH_MAX + 32];

	if (l->err[0])		/* the first error is the one to fix */
		return 0;
	snprintf(where, sizeof(where), "%s:%d: ", l->path, l->line);
	if (strcmp(section, "poned")) {
		snprintf(l->err, l->len, "%s[%s]: unknown section (expected [poned])",
			 where, section);
		return 0;
	}
	return !apply(l->c, where, key, value, false, l->err, l->len);
}

/* Reads f to its end and closes it; errors name it as path. */
static int parse(FILE *f, const char *path, struct config *c, char *err,
		 size_t len)
{
	struct config next = *c;
	struct load l = { path, &next, err, len, f, 0 };
	char why[256];
	int ret;

	err[0] = 0;
	ret = ini_parse_stream(read_line, &l, on_entry, &l);
	fclose(f);
	if (ret && !err[0])
		snprintf(err, len, "%s:%d: not a 'key = value' line", path,
			 ret);
	if (err[0])
		return -EINVAL;
	if (inconsistent(&next, why, sizeof(why))) {
		snprintf(err, len, "%s: %s", path, why);
		return -EINVAL;
	}
	*c = next;
	return 0;
}

static int open_failed(const char *path, char *err, size_t len)
{
	int ret = -errno;

	snprintf(err, len, "%s: %s", path, strerror(-ret));
	return ret;
}

int config_load(const char *path, struct config *c, char *err, size_t len)
{
	FILE *f = fopen(path, "r");

	return f ? parse(f, path, c, err, len) : open_failed(path, err, len);
}

int config_parse(const char *text, size_t size, const char *path,
		 struct config *c, char *err, size_t len)
{
	/* Read as a file is, line by line: "r" leaves the text as it is. */
	FILE *f = fmemopen((void *)text, size, "r");

	return f ? parse(f, path, c, err, len) : open_failed(path, err, len);
}
