// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "pressure.h"
#include "procfs.h"

#define GIB (1024.0 * 1024 * 1024)

static const char *const mode_names[] = { "always", "pressure" };

const char *pressure_mode_name(enum pressure_mode m)
{
	return mode_names[m];
}

/* "some avg10=1.23 avg60=..." first; a kernel booted psi=0 may have the
 * file but fail its read. */
static int read_psi(const char *root, struct pressure_reading *r)
{
	char path[PATH_MAX], line[256];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/pressure/memory", root);
	r->psi = false;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT || errno == EOPNOTSUPP ? 0 : -errno;
	errno = 0;
	if (!fgets(line, sizeof(line), f))
		ret = errno == EOPNOTSUPP ? 0 : errno ? -errno : -EIO;
	else if (sscanf(line, "some avg10=%lf ", &r->stall) == 1 &&
		 r->stall >= 0 && r->stall <= 100)
		r->psi = true;
	else
		ret = -EIO;
	fclose(f);
	return ret;
}

int pressure_read(const char *root, struct pressure_reading *r,
		  struct failure *f)
{
	static const char *const keys[] = { "MemTotal", "MemAvailable" };
	char path[PATH_MAX];
	uint64_t bytes[2];
	int ret;

	snprintf(path, sizeof(path), "%s/meminfo", root);
	ret = proc_meminfo(path, 2, keys, bytes);
	if (!ret && !bytes[0])
		ret = -EIO;
	if (ret)
		return failure(f, PRESSURE_MEMINFO, ret);
	r->total = bytes[0];
	r->available = bytes[1];
	ret = read_psi(root, r);
	return ret ? failure(f, PRESSURE_PSI, ret) : 0;
}

static uint64_t threshold(const struct pressure_limits *l, uint64_t total)
{
	if (l->available_pct)
		return (uint64_t)(total * l->available_pct / 100);
	return l->available_bytes;
}

/* "20 % of 16.0 GiB" or "2.0 GiB" */
static void threshold_text(const struct pressure_limits *l,
			   const struct pressure_reading *r, char *buf,
			   size_t len)
{
	if (l->available_pct)
		snprintf(buf, len, "%g %% of %.1f GiB", l->available_pct,
			 r->total / GIB);
	else
		snprintf(buf, len, "%.1f GiB", l->available_bytes / GIB);
}

struct verdict {
	bool low;		/* MemAvailable below the threshold */
	bool stalled;		/* stall at or above its threshold */
	bool avail_settled;	/* MemAvailable past the margin too */
	bool stall_settled;	/* stall below half its threshold */
};

/* "stall (some avg10) 1.2 % below 10 %"; against half of it where that
 * alone keeps the host short. */
static void stall_text(const struct pressure *s,
		       const struct pressure_limits *l, bool stalled,
		       char *buf, size_t len)
{
	double stall = s->last.stall, half = l->stall_pct / 2;
	bool unsettled = s->shortage && !stalled && stall >= half;

	if (!s->last.psi)
		snprintf(buf, len, "no PSI: judged by MemAvailable alone");
	else
		snprintf(buf, len, "stall (some avg10) %.1f %% %s %g %%",
			 stall, stalled ? "at or above" : unsettled ?
			 "not yet below" : "below",
			 unsettled ? half : l->stall_pct);
}

static void explain(struct pressure *s, const struct pressure_limits *l,
		    const struct verdict *v)
{
	const struct pressure_reading *r = &s->last;
	char line[64], stall[96];
	double avail = r->available / GIB;
	const char *state = !s->shortage ? "memory not short" :
			    v->low || v->stalled ? "memory short" :
			    "memory short still";

	threshold_text(l, r, line, sizeof(line));
	stall_text(s, l, v->stalled, stall, sizeof(stall));
	if (s->shortage && !v->low && !v->stalled && !v->avail_settled)
		snprintf(s->why, sizeof(s->why), "%s: MemAvailable %.1f GiB, "
			 "not yet %d %% of MemTotal above %s; %s", state,
			 avail, PRESSURE_MARGIN_PCT, line, stall);
	else
		snprintf(s->why, sizeof(s->why), "%s: MemAvailable %.1f GiB "
			 "%s %s; %s", state, avail, v->low ? "below" : "above",
			 line, stall);
}

bool pressure_judge(struct pressure *s, const struct pressure_limits *l,
		    const struct pressure_reading *r)
{
	uint64_t line = threshold(l, r->total);
	uint64_t margin = r->total / 100 * PRESSURE_MARGIN_PCT;
	struct verdict v = {
		.low = r->available < line,
		.stalled = r->psi && r->stall >= l->stall_pct,
		.avail_settled = !line || r->available >= line + margin,
		.stall_settled = !r->psi || r->stall < l->stall_pct / 2,
	};
	bool was = s->judged && s->shortage;
	bool settled = v.avail_settled && v.stall_settled;
	bool now = v.low || v.stalled || (was && !settled);
	bool changed = !s->judged || now != s->shortage;

	if (s->judged && changed)
		s->switches++;
	s->judged = true;
	s->shortage = now;
	s->last = *r;
	explain(s, l, &v);
	return changed;
}

void pressure_unjudged(struct pressure *s, const char *root, int code,
		       int err)
{
	s->judged = false;
	snprintf(s->why, sizeof(s->why), "cannot judge memory: %s/%s: %s",
		 root, code == PRESSURE_PSI ? "pressure/memory" : "meminfo",
		 err == -EIO ? "not as the kernel writes it" :
		 strerror(-err));
}
