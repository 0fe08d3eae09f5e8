// SPDX-License-Identifier: GPL-2.0-only
/*
 * pone-ctl: poned's command-line client. One request, one reply line over
 * the control socket (commands.h); tables for people, --json for scripts.
 * Exit status: 0 done, 1 poned refused (its reason is printed), 2 bad
 * usage, 3 poned could not be reached.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

#define DEFAULT_SOCKET "/run/pone/poned.sock"

struct ctl {
	const char *socket;
	bool json;
	int fd;			/* connected socket */
};

static int connect_to(struct ctl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(c->socket) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "pone-ctl: socket path too long: %s\n",
			c->socket);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, c->socket);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "pone-ctl: cannot reach poned at %s: %s\n"
			"pone-ctl: is poned running (systemctl status poned)? "
			"Another socket: --socket PATH\n",
			c->socket, strerror(errno));
		return -errno;
	}
	return 0;
}

/* The request, with fd (if >= 0) riding along. */
static int send_line(struct ctl *c, const char *line, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)line, strlen(line) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t k;

	if (fd >= 0) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	k = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	return k == (ssize_t)iov.iov_len ? 0 : -EIO;
}

static json_t *read_reply(struct ctl *c)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	json_error_t err;

	for (;;) {
		ssize_t k;

		if (len + 4096 > cap) {
			char *b = realloc(buf, cap = cap * 2 + 8192);

			if (!b)
				break;
			buf = b;
		}
		k = read(c->fd, buf + len, cap - len - 1);
		if (k <= 0)
			break;
		len += (size_t)k;
		if (memchr(buf + len - k, '\n', (size_t)k))
			break;
	}
	if (!buf || !len) {
		free(buf);
		fprintf(stderr, "pone-ctl: poned closed the connection\n");
		return NULL;
	}
	buf[len] = 0;
	json_t *reply = json_loads(buf, JSON_DISABLE_EOF_CHECK, &err);
	free(buf);
	if (!reply)
		fprintf(stderr, "pone-ctl: unreadable reply: %s\n", err.text);
	return reply;
}

/* Sends req (stolen), returns the reply on success; NULL after saying why. */
static json_t *request(struct ctl *c, json_t *req, int fd, int *status)
{
	char *line = json_dumps(req, JSON_COMPACT);
	json_t *reply = NULL;
	char *wire;

	json_decref(req);
	*status = 3;
	if (!line || connect_to(c))
		goto out;
	wire = malloc(strlen(line) + 2);
	if (!wire)
		goto out;
	sprintf(wire, "%s\n", line);
	if (send_line(c, wire, fd) == 0)
		reply = read_reply(c);
	free(wire);
	if (reply && !json_is_true(json_object_get(reply, "ok"))) {
		fprintf(stderr, "pone-ctl: %s\n",
			json_string_value(json_object_get(reply, "error")));
		json_decref(reply);
		reply = NULL;
		*status = 1;
	} else if (reply) {
		*status = 0;
	}
out:
	free(line);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	return reply;
}

static double mib(json_t *o, const char *key)
{
	return (double)json_integer_value(json_object_get(o, key)) / 1048576.0;
}

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void print_row(json_t *g, const char *name, const char *pid)
{
	printf("%-16s %8s %9.0f %9.1f %10lld %10lld %9.1f\n", name, pid,
	       mib(g, "ram_bytes"), mib(g, "resident_bytes"),
	       num(g, "recycled_pages"), num(g, "duplicate_pages"),
	       mib(g, "saved_bytes"));
}

static void print_guests(json_t *guests, json_t *totals)
{
	json_t *g;
	size_t i;

	printf("%-16s %8s %9s %9s %10s %10s %9s\n", "GUEST", "PID", "RAM MiB",
	       "RES MiB", "RECYCLED", "DUPLICATE", "SAVED MiB");
	json_array_foreach(guests, i, g) {
		char pid[16];

		snprintf(pid, sizeof(pid), "%lld", num(g, "pid"));
		print_row(g, json_string_value(json_object_get(g, "name")),
			  pid);
	}
	if (totals)
		print_row(totals, "total", "");
}

static const char *str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "";
}

/* Where poned follows libvirt's domains, and those it does not attach. */
static void print_libvirt(json_t *lv)
{
	json_t *skipped = json_object_get(lv, "not_attached"), *o;
	size_t i;

	if (!strcmp(str(lv, "uri"), "off"))
		printf("libvirt: not followed (%s)\n", str(lv, "why"));
	else if (json_is_true(json_object_get(lv, "connected")))
		printf("libvirt: %s, connected\n", str(lv, "uri"));
	else
		printf("libvirt: %s, not connected: %s\n", str(lv, "uri"),
		       str(lv, "why"));
	json_array_foreach(skipped, i, o)
		printf("  domain %s not attached: %s\n", str(o, "domain"),
		       str(o, "why"));
}

/* On a host of several nodes: where pages merge, and how local the
 * workers' reads were. */
static void print_numa(json_t *numa)
{
	json_t *o;
	size_t i;

	if (num(numa, "nodes") < 2)
		return;
	printf("NUMA: %lld nodes, pages merge %s", num(numa, "nodes"),
	       json_is_true(json_object_get(numa, "nodes_apart")) ?
	       "only on their node" : "across nodes");
	json_array_foreach(json_object_get(numa, "workers"), i, o)
		printf("; node %lld: %lld worker%s, %lld pages, %.0f%% local",
		       num(o, "node"), num(o, "workers"),
		       num(o, "workers") == 1 ? "" : "s", num(o, "pages"),
		       num(o, "pages") ? 100.0 * (double)num(o, "local") /
					 (double)num(o, "pages") : 0.0);
	printf("\n");
}

static void print_status(json_t *s)
{
	json_t *last = json_object_get(s, "last_pass");
	json_t *swap = json_object_get(s, "swap");
	json_t *pressure = json_object_get(s, "pressure");
	const char *problem = json_string_value(json_object_get(swap, "problem"));

	printf("poned %s: backend %s, %lld threads, periods %lld s (reclaim) "
	       "/ %lld s (merge), CPU %.1f s in %lld s (limit %.2f cores)\n",
	       json_string_value(json_object_get(s, "version")),
	       json_string_value(json_object_get(s, "backend")),
	       num(s, "threads"), num(s, "reclaim_period"),
	       num(s, "merge_period"),
	       json_real_value(json_object_get(s, "cpu_s")), num(s, "uptime_s"),
	       json_real_value(json_object_get(s, "cpu_limit")));
	if (json_is_object(last)) {
		time_t at = (time_t)num(last, "ended_at");
		char when[32];

		strftime(when, sizeof(when), "%H:%M:%S", localtime(&at));
		printf("last period: %s pass at %s, %lld pages read, %lld "
		       "unwritten since (write tracking: %s), %lld not "
		       "resident, %lld zero pages recyclable, %.2f s, %.2f "
		       "CPU-s\n", json_string_value(json_object_get(last, "kind")),
		       when, num(last, "scanned"), num(last, "unwritten"),
		       json_string_value(json_object_get(s, "write_tracking")),
		       num(last, "absent"), num(last, "zero_stable"),
		       json_real_value(json_object_get(last, "wall_s")),
		       json_real_value(json_object_get(last, "cpu_s")));
	} else {
		printf("last period: none yet\n");
	}
	printf("memory pressure: mode %s, budget %.2f cores, %lld switches; "
	       "%s\n", json_string_value(json_object_get(pressure, "mode")),
	       json_real_value(json_object_get(pressure, "budget_cpu")),
	       num(pressure, "switches"),
	       json_string_value(json_object_get(pressure, "why")));
	print_libvirt(json_object_get(s, "libvirt"));
	print_numa(json_object_get(s, "numa"));
	printf("swap: %.0f MiB, %.0f MiB free", mib(swap, "total_bytes"),
	       mib(swap, "free_bytes"));
	if (num(swap, "file_bytes"))
		printf(", %.0f MiB of it in files", mib(swap, "file_bytes"));
	printf("%s%s\n\n", problem ? ": " : "", problem ? problem : "");
	print_guests(json_object_get(s, "guests"), json_object_get(s, "totals"));
}

static int show(struct ctl *c, const char *cmd, int *status)
{
	json_t *reply = request(c, json_pack("{s:s}", "cmd", cmd), -1, status);
	json_t *body;

	if (!reply)
		return *status;
	body = json_object_get(reply, cmd);
	if (c->json) {
		char *s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);

		printf("%s\n", s);
		free(s);
	} else if (!strcmp(cmd, "status")) {
		print_status(body);
	} else if (!strcmp(cmd, "guests")) {
		print_guests(body, NULL);
	} else {
		printf("poned %s\n", json_string_value(body));
	}
	json_decref(reply);
	return 0;
}

/* Status in Prometheus's text format (metrics.h). */
static int metrics(struct ctl *c)
{
	int status = 0;
	json_t *reply = request(c, json_pack("{s:s}", "cmd", "status"), -1,
				&status);

	if (!reply)
		return status;
	if (metrics_write(json_object_get(reply, "status"), stdout)) {
		fprintf(stderr, "pone-ctl: poned's status has no figures\n");
		status = 1;
	}
	json_decref(reply);
	return status;
}

static volatile sig_atomic_t stop_watch;

static void on_sigint(int sig)
{
	(void)sig;
	stop_watch = 1;
}

static int watch(struct ctl *c, int argc, char **argv)
{
	int interval = argc > 1 ? atoi(argv[1]) : 2, status = 0;

	if (argc > 2 || interval <= 0) {
		fprintf(stderr, "usage: pone-ctl watch [SECONDS]\n");
		return 2;
	}
	signal(SIGINT, on_sigint);
	while (!stop_watch) {
		if (!c->json)
			printf("\033[H\033[2J");
		if (show(c, "status", &status))
			return status;
		fflush(stdout);
		sleep((unsigned int)interval);
	}
	return 0;
}

static int parse_pid(const char *s, long *pid)
{
	char *end;

	errno = 0;
	*pid = strtol(s, &end, 10);
	if (errno || end == s || *end || *pid <= 0 || *pid > 0x7fffffff) {
		fprintf(stderr, "pone-ctl: bad pid '%s'\n", s);
		return -EINVAL;
	}
	return 0;
}

/* attach --pid PID [--name NAME] [--sharing DOMAIN] [--fd PATH]
 * | detach --pid PID|--name NAME */
static int guest_cmd(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "fd", required_argument, NULL, 'f' },
		{ "sharing", required_argument, NULL, 's' },
		{ 0 },
	};
	bool attach = !strcmp(argv[0], "attach");
	json_t *req = json_pack("{s:s}", "cmd", argv[0]), *reply;
	long pid = 0;
	int o, fd = -1, status;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'p' && parse_pid(optarg, &pid))
			goto usage;
		if (o == 'p')
			json_object_set_new(req, "pid", json_integer(pid));
		else if (o == 'n')
			json_object_set_new(req, "name", json_string(optarg));
		else if (o == 's' && attach)
			json_object_set_new(req, "sharing",
					    json_string(optarg));
		else if (o == 'f' && attach && fd < 0)
			fd = open(optarg, O_RDWR | O_CLOEXEC);
		else
			goto usage;
		if (o == 'f' && fd < 0) {
			fprintf(stderr, "pone-ctl: %s: %s\n", optarg,
				strerror(errno));
			json_decref(req);
			return 1;
		}
	}
	if (optind < argc || (attach && !pid))
		goto usage;
	reply = request(c, req, fd, &status);
	if (fd >= 0)
		close(fd);
	if (reply && c->json)
		printf("%s\n", json_dumps(reply, JSON_COMPACT));
	else if (reply)
		printf("%s\n", attach ? "attached" : "detached");
	json_decref(reply);
	return status;
usage:
	json_decref(req);
	if (fd >= 0)
		close(fd);
	fprintf(stderr, "usage: pone-ctl attach --pid PID [--name NAME] "
		"[--sharing DOMAIN] [--fd PATH]\n"
		"       pone-ctl detach --pid PID | --name NAME\n");
	return 2;
}

static int set_cmd(struct ctl *c, int argc, char **argv)
{
	json_t *values = json_object(), *reply;
	int i, status;

	for (i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i]) {
			fprintf(stderr, "usage: pone-ctl set KEY=VALUE ...\n");
			json_decref(values);
			return 2;
		}
		*eq = 0;
		json_object_set_new(values, argv[i], json_string(eq + 1));
	}
	if (argc < 2) {
		fprintf(stderr, "usage: pone-ctl set reclaim_period=SECONDS "
			"merge_period=SECONDS threads=N cpu_limit=CORES\n");
		json_decref(values);
		return 2;
	}
	reply = request(c, json_pack("{s:s, s:o}", "cmd", "set", "values",
				     values), -1, &status);
	if (reply)
		printf(c->json ? "{\"ok\":true}\n" : "set\n");
	json_decref(reply);
	return status;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pone-ctl [--socket PATH] [--json] COMMAND\n"
		   "  status                      guests and figures\n"
		   "  guests                      attached guests\n"
		   "  attach --pid PID [--name NAME] [--sharing DOMAIN] "
		   "[--fd PATH]\n"
		   "  detach --pid PID | --name NAME\n"
		   "  set KEY=VALUE ...           reclaim_period, merge_period,\n"
		   "                              threads, cpu_limit, thp_split,\n"
		   "                              stable_periods, mode,\n"
		   "                              pressure_available,\n"
		   "                              pressure_stall, idle_cpu_limit\n"
		   "  watch [SECONDS]             status, refreshed\n"
		   "  metrics                     status in Prometheus's text "
		   "format\n"
		   "  version\n");
}

int main(int argc, char **argv)
{
	struct ctl c = { .socket = DEFAULT_SOCKET, .fd = -1 };
	int i, status = 0;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json"))
			c.json = true;
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			c.socket = argv[++i];
		else if (!strcmp(argv[i], "--help"))
			return usage(stdout), 0;
		else
			return usage(stderr), 2;
	}
	if (i == argc)
		return usage(stderr), 2;
	/* A trailing --json is as good as a leading one. */
	if (!strcmp(argv[argc - 1], "--json") && argc - 1 > i) {
		c.json = true;
		argc--;
	}
	argc -= i;
	argv += i;
	if (!strcmp(argv[0], "status") || !strcmp(argv[0], "guests") ||
	    !strcmp(argv[0], "version"))
		return argc == 1 ? show(&c, argv[0], &status) : (usage(stderr), 2);
	if (!strcmp(argv[0], "attach") || !strcmp(argv[0], "detach"))
		return guest_cmd(&c, argc, argv);
	if (!strcmp(argv[0], "set"))
		return set_cmd(&c, argc, argv);
	if (!strcmp(argv[0], "watch"))
		return watch(&c, argc, argv);
	if (!strcmp(argv[0], "metrics"))
		return argc == 1 ? metrics(&c) : (usage(stderr), 2);
	usage(stderr);
	return 2;
}
