// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char *program(const char *env)
{
	const char *p = getenv(env);

	if (!p)
		skip_all("run by meson: the program paths come from it");
	return p;
}

void skip_all(const char *why)
{
	printf("SKIP: %s\n", why);
	exit(77);
}

/* Every process started, so a failed test leaves none behind. */
static pid_t started[64];

static void remember(pid_t pid)
{
	size_t i;

	for (i = 0; i < 64; i++) {
		if (started[i] <= 0) {
			started[i] = pid;
			return;
		}
	}
}

void harness_cleanup(void)
{
	size_t i;

	for (i = 0; i < 64; i++) {
		if (started[i] > 0 && waitpid(started[i], NULL, WNOHANG) == 0) {
			kill(started[i], SIGKILL);
			waitpid(started[i], NULL, 0);
		}
		started[i] = 0;
	}
}

int harness_teardown(void **state)
{
	(void)state;
	harness_cleanup();
	return 0;
}

/* fork + exec with stdin and stdout on pipes of ours. */
static int spawn(struct child *c, const char *path, const char *const *args,
		 bool pipes)
{
	const char *argv[32] = { path };
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	size_t i;

	for (i = 0; args && args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	if (pipes && (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)))
		return -errno;
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (!c->pid) {
		if (pipes) {
			dup2(in[0], 0);
			dup2(out[1], 1);
		}
		execv(path, (char *const *)argv);
		_exit(127);
	}
	remember(c->pid);
	if (pipes) {
		close(in[0]);
		close(out[1]);
		c->in = fdopen(in[1], "w");
		c->out = fdopen(out[0], "r");
	}
	return 0;
}

int child_start(struct child *c, const char *path, const char *const *args)
{
	return spawn(c, path, args, true);
}

int guest_start(struct testguest *g, const char *const *args)
{
	char line[128];
	void *addr;

	if (spawn(&g->c, program("PONE_TESTGUEST"), args, true) ||
	    !fgets(line, sizeof(line), g->c.out) ||
	    sscanf(line, "ready %" SCNu64 " %p", &g->pages, &addr) != 2)
		return -1;
	g->addr = (uintptr_t)addr;
	return 0;
}

int guest_say(struct testguest *g, const char *cmd, char *reply, size_t len)
{
	char buf[128];

	if (!reply) {
		reply = buf;
		len = sizeof(buf);
	}
	fprintf(g->c.in, "%s\n", cmd);
	fflush(g->c.in);
	if (!fgets(reply, (int)len, g->c.out))
		return -1;
	reply[strcspn(reply, "\n")] = 0;
	return 0;
}

void guest_quit(struct testguest *g)
{
	if (g->c.pid <= 0)
		return;
	fprintf(g->c.in, "quit\n");
	fclose(g->c.in);
	fclose(g->c.out);
	waitpid(g->c.pid, NULL, 0);
	g->c.pid = 0;
}

int daemon_prepare(struct daemon_run *d, const char *name,
		   const char *settings)
{
	FILE *f;

	snprintf(d->dir, sizeof(d->dir), "/tmp/pone-e2e-%s-%d", name,
		 (int)getpid());
	snprintf(d->config, sizeof(d->config), "%s/poned.conf", d->dir);
	snprintf(d->socket, sizeof(d->socket), "%s/poned.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/poned.log", d->dir);
	if (mkdir(d->dir, 0700) && errno != EEXIST)
		return -errno;
	f = fopen(d->config, "w");
	if (!f)
		return -errno;
	/* The host's KSM is steered, and libvirt's domains followed, only by
	 * the tests of those: the settings given come after, and the last of
	 * a key stands. */
	fprintf(f, "[poned]\nsocket = %s\nstate_dir = %s/state\nksm = off\n"
		"libvirt = off\n%s\n", d->socket, d->dir, settings);
	fclose(f);
	return 0;
}

static bool answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ok = fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (fd >= 0)
		close(fd);
	return ok;
}

int daemon_start(struct daemon_run *d)
{
	const char *args[] = { "--config", d->config, "--foreground", NULL };
	struct child c;
	int i, logfd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	int saved = dup(2);

	int saved_out = dup(1);

	/* Its output (the log) into the file, for the test's failure output:
	 * not on ours, which the test runner waits on. */
	dup2(logfd, 1);
	dup2(logfd, 2);
	i = spawn(&c, program("PONED"), args, false);
	dup2(saved, 2);
	dup2(saved_out, 1);
	close(saved);
	close(saved_out);
	close(logfd);
	if (i)
		return i;
	d->pid = c.pid;
	for (i = 0; i < 200; i++) {
		struct timespec ts = { 0, 25000000 };

		if (answers(d->socket))
			return 0;
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid)
			break;
		nanosleep(&ts, NULL);
	}
	return -1;
}

void daemon_kill(struct daemon_run *d, int sig)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, sig);
	waitpid(d->pid, NULL, 0);
	d->pid = 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int daemon_stop(struct daemon_run *d)
{
	int status;

	if (d->pid <= 0 || kill(d->pid, SIGTERM) ||
	    waitpid(d->pid, &status, 0) != d->pid)
		return -1;
	d->pid = 0;
	if (!WIFEXITED(status))
		return -1;
	/* Its log stays only where something went wrong. */
	if (!WEXITSTATUS(status))
		nftw(d->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	return WEXITSTATUS(status);
}

int ctl(const struct daemon_run *d, char *out, size_t len,
	const char *const *args)
{
	const char *argv[32] = { "--socket", d->socket };
	struct child c;
	size_t i, got = 0;
	int status;

	for (i = 0; args[i] && i < 28; i++)
		argv[i + 2] = args[i];
	if (spawn(&c, program("PONE_CTL"), argv, true))
		return -1;
	fclose(c.in);
	/* All of it, also when not kept: it must not die writing. */
	for (;;) {
		char sink[4096];
		size_t room = out && got + 1 < len ? len - 1 - got : 0;
		size_t k = room ? fread(out + got, 1, room, c.out) :
				  fread(sink, 1, sizeof(sink), c.out);

		if (!k)
			break;
		got += room ? k : 0;
	}
	if (out)
		out[got] = 0;
	fclose(c.out);
	waitpid(c.pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int ctl_attach(const struct daemon_run *d, pid_t pid, const char *name)
{
	const char *args[] = { "attach", "--pid", NULL, "--name", name, NULL };
	char num[16];

	snprintf(num, sizeof(num), "%d", (int)pid);
	args[2] = num;
	return ctl(d, NULL, 0, args);
}

int ctl_number(const struct daemon_run *d, const char *const *args,
	       const char *key, uint64_t *value)
{
	char out[8192], pattern[64], *at;

	if (ctl(d, out, sizeof(out), args))
		return -1;
	snprintf(pattern, sizeof(pattern), "\"%s\":", key);
	at = strstr(out, pattern);
	if (!at)
		return -1;
	*value = strtoull(at + strlen(pattern), NULL, 10);
	return 0;
}

int mapping_usage(pid_t pid, uint64_t addr, uint64_t *rss, uint64_t *swap)
{
	char path[64], line[256];
	bool inside = false;
	uint64_t lo, hi, kib;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	*rss = *swap = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			inside = lo == addr;
		else if (inside && sscanf(line, "Rss: %" SCNu64, &kib) == 1)
			*rss = kib << 10;
		else if (inside && sscanf(line, "Swap: %" SCNu64, &kib) == 1)
			*swap = kib << 10;
	}
	fclose(f);
	return 0;
}

int mapping_find(pid_t pid, const char *path, uint64_t size, uint64_t *addr)
{
	char file[64], line[512], perms[8], name[256];
	uint64_t lo, hi;
	int found = -ENOENT;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%d/maps", (int)pid);
	f = fopen(file, "r");
	if (!f)
		return -errno;
	while (found && fgets(line, sizeof(line), f)) {
		name[0] = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %*s %255s",
			   &lo, &hi, perms, name) < 3 || hi - lo != size)
			continue;
		if (path ? !strncmp(name, path, strlen(path)) :
			   !name[0] && !strcmp(perms, "rw-p"))
			found = 0;
	}
	fclose(f);
	if (!found)
		*addr = lo;
	return found;
}

uint64_t process_ticks(pid_t pid)
{
	char path[64], line[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	p = f && fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	if (f)
		fclose(f);
	if (p)
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		       "%llu %llu", &ut, &st);
	return ut + st;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void wait_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

bool rss_falls_to(pid_t pid, uint64_t addr, uint64_t limit, double timeout)
{
	uint64_t rss = 0, swap;
	double t;

	for (t = 0; t < timeout; t += 0.25) {
		if (mapping_usage(pid, addr, &rss, &swap))
			return false;
		if (rss <= limit)
			return true;
		wait_s(0.25);
	}
	printf("guest RAM still holds %llu KiB, expected at most %llu KiB\n",
	       (unsigned long long)(rss >> 10),
	       (unsigned long long)(limit >> 10));
	return false;
}
