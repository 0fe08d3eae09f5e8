// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket, served in an epoll loop the test runs itself with a
 * handler that echoes: one reply a line, in order; an fd sent with a
 * request reaches the handler; a line too long gets the error reply and
 * its client is dropped, as is one that goes away mid-line, leaving no fd
 * behind; the socket is the owner's only; a live socket is not taken
 * over, a stale one is, a file that is no socket is left alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"

/* Long enough for a loaded machine, short enough for a hung test. */
#define WAIT_MS 5000

struct server {
	char dir[32];
	char path[64];		/* the socket, in dir/run, made by control */
	int epfd;
	struct control *c;
	unsigned int requests, errors;
	size_t last_len;	/* of the last request */
};

/* "ok LINE", or "fd LINE" when an fd came with it: LINE is written to it. */
static char *handle(void *ctx, const char *line, int fd)
{
	struct server *s = ctx;
	char *reply;

	s->requests++;
	s->last_len = strlen(line);
	if (fd >= 0) {
		/* Not to leak into what poned starts. */
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		assert_int_equal(write(fd, line, s->last_len), s->last_len);
		close(fd);
	}
	return asprintf(&reply, "%s %s", fd >= 0 ? "fd" : "ok", line) < 0 ?
	       NULL : reply;
}

static char *error_reply(void *ctx, const char *message)
{
	struct server *s = ctx;
	char *reply;

	s->errors++;
	return asprintf(&reply, "error %s", message) < 0 ? NULL : reply;
}

/* One turn of the daemon's loop: what is ready within ms is served. */
static void pump(struct server *s, int ms)
{
	struct epoll_event ev[8];
	int n = epoll_wait(s->epfd, ev, 8, ms);

	for (int i = 0; i < n; i++) {
		struct source *src = ev[i].data.ptr;

		src->ready(src, ev[i].events);
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int serve(struct server *s)
{
	return control_open(s->path, s->epfd, handle, error_reply, s, &s->c);
}

static int setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	snprintf(s->dir, sizeof(s->dir), "/tmp/pone-control-XXXXXX");
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || !mkdtemp(s->dir)) {
		free(s);
		return -1;
	}
	/* In a directory control_open() makes. */
	snprintf(s->path, sizeof(s->path), "%s/run/ctl.sock", s->dir);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;
	char run[sizeof(s->dir) + 4];

	control_close(s->c);
	close(s->epfd);
	unlink(s->path);
	snprintf(run, sizeof(run), "%s/run", s->dir);
	rmdir(run);
	rmdir(s->dir);
	free(s);
	return 0;
}

/* A test with a server of its own, not yet serving. */
#define with_server(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

static int client(struct server *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* All of buf, with fd attached if not -1, the server served meanwhile. */
static void send_fd(struct server *s, int c, const char *buf, size_t len,
		    int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	int64_t end = now_ms() + WAIT_MS;

	while (len) {
		struct iovec iov = { (void *)buf, len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t k;

		if (fd >= 0) {
			struct cmsghdr *cm = (struct cmsghdr *)cbuf;

			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		}
		k = sendmsg(c, &mh, MSG_NOSIGNAL);
		if (k < 0 && errno == EAGAIN && now_ms() < end) {
			pump(s, 10);
			continue;
		}
		assert_true(k > 0);
		buf += k;
		len -= (size_t)k;
		fd = -1;
	}
	pump(s, 0);
}

static void send_str(struct server *s, int c, const char *str)
{
	send_fd(s, c, str, strlen(str), -1);
}

/*
 * The next reply line, without its newline (caller frees), or NULL once
 * the server hung up. A byte at a time: the rest stays for the next call.
 */
static char *reply(struct server *s, int c)
{
	size_t len = 0, cap = 64;
	char *line = malloc(cap);
	int64_t end = now_ms() + WAIT_MS;

	assert_non_null(line);
	for (;;) {
		ssize_t k = recv(c, line + len, 1, 0);

		if (k == 1 && line[len] == '\n')
			break;
		if (k == 1 && ++len == cap) {
			line = realloc(line, cap *= 2);
			assert_non_null(line);
		}
		if (k == 0 || (k < 0 && errno != EAGAIN)) {
			free(line);
			return NULL;
		}
		if (k < 0) {
			if (now_ms() > end)
				fail_msg("no reply in %d ms", WAIT_MS);
			pump(s, 10);
		}
	}
	line[len] = 0;
	return line;
}

static void expect_reply(struct server *s, int c, const char *want)
{
	char *line = reply(s, c);

	if (!line || strcmp(line, want))
		fail_msg("reply '%s', expected '%s'", line ? line : "(none)",
			 want);
	free(line);
}

static void expect_hangup(struct server *s, int c)
{
	char *line = reply(s, c);

	if (line)
		fail_msg("reply '%s', expected the server to hang up", line);
}

/* The fds this process holds. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void one_reply_a_line_in_order(void **state)
{
	struct server *s = *state;
	int c;

	assert_int_equal(serve(s), 0);
	c = client(s);
	send_str(s, c, "one\ntwo\n\nthree\n");
	expect_reply(s, c, "ok one");
	expect_reply(s, c, "ok two");
	expect_reply(s, c, "ok ");
	expect_reply(s, c, "ok three");
	/* A line in pieces is one request, served when it is whole. */
	send_str(s, c, "fo");
	pump(s, 10);
	assert_int_equal(s->requests, 4);
	send_str(s, c, "ur\n");
	expect_reply(s, c, "ok four");
	assert_int_equal(s->requests, 5);
	close(c);
}

static void clients_are_served_apart(void **state)
{
	struct server *s = *state;
	int a, b;

	assert_int_equal(serve(s), 0);
	a = client(s);
	b = client(s);
	send_str(s, a, "from a, first half ");
	send_str(s, b, "from b\n");
	expect_reply(s, b, "ok from b");
	send_str(s, a, "and second\n");
	expect_reply(s, a, "ok from a, first half and second");
	close(a);
	close(b);
}

static void a_passed_fd_reaches_the_handler(void **state)
{
	struct server *s = *state;
	char buf[16];
	int p[2], c;

	assert_int_equal(serve(s), 0);
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	c = client(s);
	send_fd(s, c, "take\n", 5, p[1]);
	close(p[1]);
	expect_reply(s, c, "fd take");
	assert_int_equal(read(p[0], buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "take", 4);
	/* The handler's copy was the last: no other is kept. */
	assert_int_equal(read(p[0], buf, sizeof(buf)), 0);
	/* It came with that request, not the next. */
	send_str(s, c, "next\n");
	expect_reply(s, c, "ok next");
	close(p[0]);
	close(c);
}

static void a_line_too_long_is_refused_and_dropped(void **state)
{
	struct server *s = *state;
	char *line = malloc(CONTROL_LINE_MAX), *longest;
	int c;

	assert_non_null(line);
	assert_int_equal(serve(s), 0);
	memset(line, 'x', CONTROL_LINE_MAX);
	c = client(s);
	/* The longest line taken fills the buffer, its newline last, and
	 * may come in parts. */
	send_fd(s, c, line, CONTROL_LINE_MAX - 1, -1);
	pump(s, 10);
	send_str(s, c, "\n");
	longest = reply(s, c);
	assert_non_null(longest);
	assert_int_equal(s->last_len, CONTROL_LINE_MAX - 1);
	free(longest);
	/* A byte more, and no newline in reach. */
	send_fd(s, c, line, CONTROL_LINE_MAX, -1);
	expect_reply(s, c, "error request line too long (limit 65536 bytes)");
	expect_hangup(s, c);
	assert_int_equal(s->requests, 1);
	assert_int_equal(s->errors, 1);
	close(c);
	free(line);
}

/* Its socket is closed, and an fd that came with the half line too. */
static void a_client_gone_mid_line_is_dropped(void **state)
{
	struct server *s = *state;
	int64_t end = now_ms() + WAIT_MS;
	int p[2], c, fds;
	char buf[4];

	assert_int_equal(serve(s), 0);
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	fds = open_fds();
	c = client(s);
	send_fd(s, c, "half a li", 9, p[1]);
	close(p[1]);
	pump(s, 10);
	close(c);
	while (open_fds() > fds - 1 && now_ms() < end)
		pump(s, 10);
	assert_int_equal(open_fds(), fds - 1);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 0);
	assert_int_equal(s->requests, 0);
	close(p[0]);
}

static void the_socket_is_the_owners_only(void **state)
{
	struct server *s = *state;
	mode_t old = umask(0);
	struct stat st;

	assert_int_equal(serve(s), 0);
	umask(old);
	assert_int_equal(stat(s->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	control_close(s->c);
	s->c = NULL;
	assert_int_equal(access(s->path, F_OK), -1);
}

static void a_live_socket_is_not_taken_over(void **state)
{
	struct server *s = *state;
	struct control *second = NULL;
	int c;

	assert_int_equal(serve(s), 0);
	assert_int_equal(control_open(s->path, s->epfd, handle, error_reply, s,
				      &second), -EADDRINUSE);
	assert_null(second);
	c = client(s);
	send_str(s, c, "still here\n");
	expect_reply(s, c, "ok still here");
	close(c);
}

/* The socket's directory, as control_open() would make it. */
static void make_socket_dir(struct server *s)
{
	char dir[sizeof(s->path)];

	snprintf(dir, sizeof(dir), "%s", s->path);
	*strrchr(dir, '/') = 0;
	assert_int_equal(mkdir(dir, 0755), 0);
}

/* Left by a daemon that died: nothing listens on it. */
static void a_stale_socket_is_replaced(void **state)
{
	struct server *s = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), c;

	make_socket_dir(s);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(serve(s), 0);
	c = client(s);
	send_str(s, c, "new\n");
	expect_reply(s, c, "ok new");
	close(c);
}

/* A socket path set by mistake to a file's is no reason to lose the file. */
static void a_file_not_a_socket_is_left_alone(void **state)
{
	struct server *s = *state;
	char buf[8] = { 0 };
	FILE *f;

	make_socket_dir(s);
	f = fopen(s->path, "w");
	assert_non_null(f);
	fputs("keep", f);
	fclose(f);
	assert_int_equal(serve(s), -EEXIST);
	f = fopen(s->path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "keep");
}

static void a_path_too_long_is_refused(void **state)
{
	struct server *s = *state;
	char path[200];

	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	assert_int_equal(control_open(path, s->epfd, handle, error_reply, s,
				      &s->c), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		with_server(one_reply_a_line_in_order),
		with_server(clients_are_served_apart),
		with_server(a_passed_fd_reaches_the_handler),
		with_server(a_line_too_long_is_refused_and_dropped),
		with_server(a_client_gone_mid_line_is_dropped),
		with_server(the_socket_is_the_owners_only),
		with_server(a_live_socket_is_not_taken_over),
		with_server(a_stale_socket_is_replaced),
		with_server(a_file_not_a_socket_is_left_alone),
		with_server(a_path_too_long_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
