// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"

#define MAX_CLIENTS 64

struct client {
	struct source src;
	struct control *c;
	int fd;
	int passed_fd;		/* came with the request being read */
	size_t len;		/* bytes in line */
	char *out;		/* reply bytes not sent yet */
	size_t out_len, out_off;
	struct client *next;
	char line[CONTROL_LINE_MAX];
};

struct control {
	struct source src;
	int fd, epfd;
	char path[108];
	control_fn *fn;
	control_error_fn *error;
	void *ctx;
	struct client *clients;
	unsigned int nclients;
};

static void client_free(struct client *cl)
{
	struct control *c = cl->c;
	struct client **pp;

	for (pp = &c->clients; *pp != cl; pp = &(*pp)->next)
		;
	*pp = cl->next;
	c->nclients--;
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	if (cl->passed_fd >= 0)
		close(cl->passed_fd);
	free(cl->out);
	free(cl);
}

/* Sends what it can; the rest goes when the socket says it has room. */
static int flush(struct client *cl)
{
	struct epoll_event ev = { .data.ptr = &cl->src };

	while (cl->out_off < cl->out_len) {
		ssize_t k = send(cl->fd, cl->out + cl->out_off,
				 cl->out_len - cl->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno != EAGAIN)
			return -errno;
		if (k < 0)
			break;
		cl->out_off += (size_t)k;
	}
	if (cl->out_off == cl->out_len) {
		free(cl->out);
		cl->out = NULL;
		cl->out_len = cl->out_off = 0;
	}
	ev.events = cl->out ? EPOLLOUT : EPOLLIN;
	return epoll_ctl(cl->c->epfd, EPOLL_CTL_MOD, cl->fd, &ev) ? -errno : 0;
}

static int queue_reply(struct client *cl, char *reply)
{
	size_t n;

	if (!reply)
		return -ENOMEM;
	n = strlen(reply);
	reply[n] = '\n';	/* over the NUL: length is kept apart */
	cl->out = reply;
	cl->out_len = n + 1;
	cl->out_off = 0;
	return flush(cl);
}

/* Requests in order; while a reply is still going out, no new one. */
static int handle_lines(struct client *cl)
{
	char *nl;

	while (!cl->out && (nl = memchr(cl->line, '\n', cl->len))) {
		size_t used = (size_t)(nl - cl->line) + 1;
		int fd = cl->passed_fd;
		char *reply;

		*nl = 0;
		cl->passed_fd = -1;
		reply = cl->c->fn(cl->c->ctx, cl->line, fd);
		memmove(cl->line, cl->line + used, cl->len - used);
		cl->len -= used;
		if (!reply)
			return -ENOMEM;
		if (queue_reply(cl, reply))
			return -EPIPE;
	}
	return 0;
}

static void take_fds(struct client *cl, struct msghdr *mh)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		int *fds = (int *)CMSG_DATA(cm);
		size_t i, n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			/* One fd a request: the last one stands. */
			if (cl->passed_fd >= 0)
				close(cl->passed_fd);
			cl->passed_fd = fds[i];
		}
	}
}

static int read_some(struct client *cl)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { cl->line + cl->len, sizeof(cl->line) - cl->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	ssize_t k = recvmsg(cl->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (k < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	take_fds(cl, &mh);
	if (k == 0)
		return -ECONNRESET;	/* gone, maybe mid-request */
	cl->len += (size_t)k;
	return 1;
}

static void client_ready(struct source *s, uint32_t events)
{
	struct client *cl = (struct client *)s;
	int ret = 0;

	if (events & EPOLLOUT)
		ret = flush(cl);
	if (!ret && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !cl->out)
		ret = read_some(cl);
	if (ret >= 0)
		ret = handle_lines(cl);
	if (!ret && !cl->out && cl->len == sizeof(cl->line)) {
		/* Answer, then hang up: there is no telling where the next
		 * request would start. */
		char *reply = cl->c->error(cl->c->ctx,
					   "request line too long (limit 65536 bytes)");

		log_warn("control: dropping a client whose request exceeds %d "
			 "bytes", CONTROL_LINE_MAX);
		if (reply)
			queue_reply(cl, reply);	/* best effort */
		ret = -EMSGSIZE;
	}
	if (ret < 0)
		client_free(cl);
}

static void accept_ready(struct source *s, uint32_t events)
{
	struct control *c = (struct control *)s;
	struct epoll_event ev = { .events = EPOLLIN };
	struct client *cl;
	int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void)events;
	if (fd < 0)
		return;
	if (c->nclients == MAX_CLIENTS || !(cl = malloc(sizeof(*cl)))) {
		log_warn("control: refusing a client: %u connected",
			 c->nclients);
		close(fd);
		return;
	}
	*cl = (struct client){ .src.ready = client_ready, .c = c, .fd = fd,
			       .passed_fd = -1, .next = c->clients };
	ev.data.ptr = &cl->src;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		free(cl);
		return;
	}
	c->clients = cl;
	c->nclients++;
}

/*
 * A socket file no one listens on is left by a daemon that died. connect()
 * is refused by a file that is no socket too: that one is not ours.
 */
static int claim_path(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct stat st;
	int ret;

	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (!ret)
		return -EADDRINUSE;
	if (errno != ECONNREFUSED)
		return 0;
	if (!stat(sa->sun_path, &st) && !S_ISSOCK(st.st_mode))
		return -EEXIST;
	unlink(sa->sun_path);
	return 0;
}

static int make_dir_of(const char *path)
{
	char dir[108];
	char *slash;

	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	return mkdir(dir, 0755) && errno != EEXIST ? -errno : 0;
}

static int listen_on(struct control *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int ret;

	strcpy(sa.sun_path, c->path);
	ret = make_dir_of(c->path);
	if (!ret)
		ret = claim_path(&sa);
	if (ret)
		return ret;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -errno;
	old = umask(0177);	/* born 0600: no window for others */
	ret = bind(c->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret || listen(c->fd, 16))
		return -errno;
	return 0;
}

int control_open(const char *path, int epfd, control_fn *fn,
		 control_error_fn *error, void *ctx, struct control **out)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct control *c;
	int ret;

	if (strlen(path) >= sizeof(c->path))
		return -ENAMETOOLONG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = (struct control){ .src.ready = accept_ready, .fd = -1,
			       .epfd = epfd, .fn = fn, .error = error,
			       .ctx = ctx };
	strcpy(c->path, path);
	ret = listen_on(c);
	ev.data.ptr = &c->src;
	if (!ret && epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev))
		ret = -errno;
	if (ret) {
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	while (c->clients)
		client_free(c->clients);
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	unlink(c->path);
	free(c);
}
