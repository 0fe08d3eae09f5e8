// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "domainxml.h"
#include "guests.h"
#include "log.h"
#include "periods.h"
#include "procfs.h"
#include "source.h"
#include "virt.h"

#define RETRY_MS 5000		/* while libvirtd does not answer */
#define RECONNECT_MS 1000	/* after it closed the connection */
#define KEEPALIVE_S 5		/* a libvirtd silent 3 times this is gone */
#define WHY_LEN 512

enum virt_event {
	VIRT_STARTED,	/* dom runs as process pid, or why says why not */
	VIRT_STOPPED,	/* dom (its name and UUID) stopped */
	VIRT_RUNNING,	/* uuids: every domain running, at a connect */
};

struct virt_msg {
	struct virt_msg *next;
	enum virt_event ev;
	struct domain_settings dom;
	pid_t pid;
	char why[WHY_LEN];
	char (*uuids)[GUEST_UUID_LEN];
	size_t nuuids;
};

/* A domain that runs but is not attached, and why. */
struct skipped {
	char name[sizeof(((struct domain_settings *)0)->name)];
	char uuid[GUEST_UUID_LEN];
	char why[WHY_LEN];
};

struct virt {
	struct source src;	/* efd's, in the daemon's loop */
	int efd;
	struct guests *gs;
	struct periods *periods;
	char uri[256];
	bool quiet;		/* auto: no libvirtd is no warning */
	pthread_t thread;

	/* libvirt's thread's */
	virConnectPtr conn;
	int lifecycle_cb, metadata_cb;
	int retry;		/* the timeout that connects */
	bool said;		/* the failure to connect is logged */
	bool stopping;		/* atomic */

	pthread_mutex_t lock;	/* of what follows */
	struct virt_msg *queue, **tail;
	bool connected;
	char why[WHY_LEN];	/* not connected: why */
	uint64_t connects;

	/* the main thread's */
	struct skipped *skipped;
	size_t nskipped;
};

static void post(struct virt *v, struct virt_msg *m)
{
	uint64_t one = 1;

	pthread_mutex_lock(&v->lock);
	*v->tail = m;
	v->tail = &m->next;
	pthread_mutex_unlock(&v->lock);
	if (write(v->efd, &one, sizeof(one)) != sizeof(one))
		log_err("libvirt: cannot wake the main thread: %s",
			strerror(errno));
}

static void set_connected(struct virt *v, bool connected, const char *why)
{
	pthread_mutex_lock(&v->lock);
	v->connected = connected;
	v->connects += connected;
	snprintf(v->why, sizeof(v->why), "%s", why);
	pthread_mutex_unlock(&v->lock);
}

static const char *last_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m ? m : "no reason given";
}

/* The settings of a running domain and its QEMU process, or why not. */
static struct virt_msg *describe(virDomainPtr dom)
{
	struct virt_msg *m = calloc(1, sizeof(*m));
	struct domain_settings s;
	char *xml;

	if (!m)
		return NULL;
	m->ev = VIRT_STARTED;
	snprintf(m->dom.name, sizeof(m->dom.name), "%s",
		 virDomainGetName(dom));
	virDomainGetUUIDString(dom, m->dom.uuid);
	xml = virDomainGetXMLDesc(dom, 0);
	if (!xml)
		snprintf(m->why, sizeof(m->why), "libvirt gives no XML of it: "
			 "%s", last_error());
	else if (!domainxml_parse(xml, strlen(xml), &s, m->why,
				  sizeof(m->why)))
		m->dom = s;
	free(xml);
	if (!m->why[0] && proc_find_arg("-uuid", m->dom.uuid, &m->pid))
		snprintf(m->why, sizeof(m->why), "no QEMU process with -uuid "
			 "%s on this host: poned attaches domains whose QEMU "
			 "runs beside it", m->dom.uuid);
	return m;
}

static struct virt_msg *stopped(virDomainPtr dom)
{
	struct virt_msg *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->ev = VIRT_STOPPED;
	snprintf(m->dom.name, sizeof(m->dom.name), "%s",
		 virDomainGetName(dom));
	virDomainGetUUIDString(dom, m->dom.uuid);
	return m;
}

static void post_if(struct virt *v, struct virt_msg *m)
{
	if (m)
		post(v, m);
	else
		log_err("libvirt: out of memory: a domain's event is lost");
}

static int lifecycle(virConnectPtr c, virDomainPtr dom, int event, int detail,
		     void *opaque)
{
	(void)c;
	(void)detail;
	if (event == VIR_DOMAIN_EVENT_STARTED)
		post_if(opaque, describe(dom));
	else if (event == VIR_DOMAIN_EVENT_STOPPED)
		post_if(opaque, stopped(dom));
	return 0;
}

/* PageONE's settings of a running domain changed: it is taken anew. */
static void metadata_changed(virConnectPtr c, virDomainPtr dom, int type,
			     const char *nsuri, void *opaque)
{
	(void)c;
	if (type == VIR_DOMAIN_METADATA_ELEMENT && nsuri &&
	    !strcmp(nsuri, DOMAINXML_NS) && virDomainIsActive(dom) == 1)
		post_if(opaque, describe(dom));
}

static void closed(virConnectPtr c, int reason, void *opaque)
{
	struct virt *v = opaque;
	const char *why = reason == VIR_CONNECT_CLOSE_REASON_EOF ?
		"libvirtd closed the connection" :
		reason == VIR_CONNECT_CLOSE_REASON_KEEPALIVE ?
		"libvirtd stopped answering" : "the connection failed";

	(void)c;
	set_connected(v, false, why);
	log_warn("libvirt: %s: %s; connecting again", v->uri, why);
	virEventUpdateTimeout(v->retry, RECONNECT_MS);
}

static void disconnect(struct virt *v)
{
	if (!v->conn)
		return;
	if (v->lifecycle_cb >= 0)
		virConnectDomainEventDeregisterAny(v->conn, v->lifecycle_cb);
	if (v->metadata_cb >= 0)
		virConnectDomainEventDeregisterAny(v->conn, v->metadata_cb);
	virConnectUnregisterCloseCallback(v->conn, closed);
	virConnectClose(v->conn);
	v->conn = NULL;
	v->lifecycle_cb = v->metadata_cb = -1;
}

static int subscribe(struct virt *v)
{
	v->lifecycle_cb = virConnectDomainEventRegisterAny(v->conn, NULL,
		VIR_DOMAIN_EVENT_ID_LIFECYCLE,
		VIR_DOMAIN_EVENT_CALLBACK(lifecycle), v, NULL);
	v->metadata_cb = virConnectDomainEventRegisterAny(v->conn, NULL,
		VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
		VIR_DOMAIN_EVENT_CALLBACK(metadata_changed), v, NULL);
	if (v->lifecycle_cb < 0 || v->metadata_cb < 0 ||
	    virConnectRegisterCloseCallback(v->conn, closed, v, NULL) ||
	    virConnectSetKeepAlive(v->conn, KEEPALIVE_S, 3) < 0)
		return -1;
	return 0;
}

/* Every domain running now, then the list of them: the main thread
 * detaches those it attached that stopped while poned was not told. */
static int reconcile(struct virt *v, int *running)
{
	virDomainPtr *doms;
	struct virt_msg *all = calloc(1, sizeof(*all));
	int i, n = virConnectListAllDomains(v->conn, &doms,
					    VIR_CONNECT_LIST_DOMAINS_ACTIVE);

	if (n < 0 || !all ||
	    !(all->uuids = calloc((size_t)n + 1, sizeof(*all->uuids)))) {
		free(all);
		for (i = 0; i < n; i++)
			virDomainFree(doms[i]);
		if (n >= 0)
			free(doms);
		return -1;
	}
	all->ev = VIRT_RUNNING;
	for (i = 0; i < n; i++) {
		if (!virDomainGetUUIDString(doms[i], all->uuids[all->nuuids]))
			all->nuuids++;
		post_if(v, describe(doms[i]));
		virDomainFree(doms[i]);
	}
	free(doms);
	post(v, all);
	*running = n;
	return 0;
}

/* The retry timeout's: connects, or says why not once and tries again. */
static void try_connect(int timer, void *opaque)
{
	struct virt *v = opaque;
	int running = 0;

	disconnect(v);
	v->conn = virConnectOpenReadOnly(v->uri);
	if (v->conn && !subscribe(v) && !reconcile(v, &running)) {
		virEventUpdateTimeout(timer, -1);
		set_connected(v, true, "");
		log_info("libvirt: connected to %s: %d domains running",
			 v->uri, running);
		v->said = false;
		return;
	}
	set_connected(v, false, last_error());
	if (!v->said)
		log_msg(v->quiet ? LOG_LEVEL_INFO : LOG_LEVEL_WARN,
			"libvirt: cannot connect to %s: %s; trying again "
			"every %d s", v->uri, last_error(), RETRY_MS / 1000);
	v->said = true;
	disconnect(v);
	virEventUpdateTimeout(timer, RETRY_MS);
}

static void *run(void *arg)
{
	struct virt *v = arg;

	pthread_setname_np(pthread_self(), "pone-libvirt");
	while (!__atomic_load_n(&v->stopping, __ATOMIC_ACQUIRE)) {
		if (virEventRunDefaultImpl() < 0) {
			log_err("libvirt: its event loop failed: %s; domains "
				"are no longer followed", last_error());
			break;
		}
	}
	disconnect(v);
	virEventRemoveTimeout(v->retry);
	return NULL;
}

/* Only wakes the loop, to see it is stopping. */
static void wake(int timer, void *opaque)
{
	(void)opaque;
	virEventRemoveTimeout(timer);
}

/* --- the main thread's --- */

static struct skipped *find_skipped(struct virt *v, const char *uuid)
{
	size_t i;

	for (i = 0; i < v->nskipped; i++)
		if (!strcmp(v->skipped[i].uuid, uuid))
			return &v->skipped[i];
	return NULL;
}

static void forget_skipped(struct virt *v, const char *uuid)
{
	struct skipped *s = find_skipped(v, uuid);

	if (s)
		*s = v->skipped[--v->nskipped];
}

/* Said once a domain and reason, and kept for status. */
static void skip(struct virt *v, const struct domain_settings *d,
		 const char *why, bool warn)
{
	struct skipped *s = find_skipped(v, d->uuid), *more;

	if (s && !strcmp(s->why, why))
		return;
	log_msg(warn ? LOG_LEVEL_WARN : LOG_LEVEL_INFO,
		"libvirt: domain '%s' not attached: %s", d->name, why);
	if (!s) {
		more = realloc(v->skipped, (v->nskipped + 1) * sizeof(*more));
		if (!more)
			return;
		v->skipped = more;
		s = &v->skipped[v->nskipped++];
	}
	snprintf(s->name, sizeof(s->name), "%s", d->name);
	snprintf(s->uuid, sizeof(s->uuid), "%s", d->uuid);
	snprintf(s->why, sizeof(s->why), "%s", why);
}

/* A libvirt name poned cannot take is replaced by the UUID. */
static const char *guest_name(const struct domain_settings *d)
{
	return guests_good_name(d->name) ? d->name : d->uuid;
}

static const char *wanted_sharing(const struct domain_settings *d)
{
	if (d->nosharepages)
		return GUESTS_SHARING_NONE;
	return d->sharing[0] ? d->sharing : NULL;
}

static bool same_settings(const struct guest *g, const char *name,
			  const char *sharing)
{
	return !strcmp(g->name, name) &&
	       !strcmp(g->sharing, sharing ? sharing : "");
}

static void started(struct virt *v, const struct virt_msg *m)
{
	const char *name = guest_name(&m->dom);
	const char *sharing = wanted_sharing(&m->dom);
	struct guest *g = guests_find(v->gs, m->pid, NULL);
	char why[WHY_LEN];
	struct failure f;
	int ret;

	/* Settings that cannot be read change nothing. */
	if (m->why[0] && g) {
		log_warn("libvirt: domain '%s': %s; it stays attached as it was",
			 m->dom.name, m->why);
		return;
	}
	if (m->why[0] || !m->dom.attach) {
		if (g && g->uuid[0])
			guests_detach_guest(v->gs, g);
		skip(v, &m->dom, m->why[0] ? m->why : "its PageONE metadata "
		     "says attach=\"no\"", m->why[0]);
		return;
	}
	if (g && same_settings(g, name, sharing)) {
		snprintf(g->uuid, sizeof(g->uuid), "%s", m->dom.uuid);
		forget_skipped(v, m->dom.uuid);
		return;
	}
	if (g) {
		log_info("libvirt: domain '%s': its PageONE settings changed: "
			 "attached again with them", m->dom.name);
		guests_detach_guest(v->gs, g);
	}
	ret = guests_attach(v->gs, m->pid, name, sharing, -1, &g, &f);
	if (ret) {
		guests_failure_text(v->gs, ret, &f, m->pid, name, why,
				    sizeof(why));
		skip(v, &m->dom, why, true);
		return;
	}
	snprintf(g->uuid, sizeof(g->uuid), "%s", m->dom.uuid);
	forget_skipped(v, m->dom.uuid);
	periods_pass_soon(v->periods);
}

/* The main thread alone changes the list: it reads it unlocked. */
static struct guest *find_uuid(struct guests *gs, const char *uuid)
{
	struct guest *g;

	for (g = gs->list; g; g = g->next)
		if (!strcmp(g->uuid, uuid))
			return g;
	return NULL;
}

static void stopped_domain(struct virt *v, const struct virt_msg *m)
{
	struct guest *g = find_uuid(v->gs, m->dom.uuid);

	if (!g) {
		g = guests_find(v->gs, 0, guest_name(&m->dom));
		if (g && g->uuid[0])
			g = NULL;	/* another domain's, of the same name */
	}
	if (g)
		guests_detach_guest(v->gs, g);
	forget_skipped(v, m->dom.uuid);
}

static bool listed(const struct virt_msg *m, const char *uuid)
{
	size_t i;

	for (i = 0; i < m->nuuids; i++)
		if (!strcmp(m->uuids[i], uuid))
			return true;
	return false;
}

/* A guest attached through libvirt whose domain is not among m's. */
static struct guest *not_running(struct guests *gs, const struct virt_msg *m)
{
	struct guest *g;

	for (g = gs->list; g; g = g->next)
		if (g->uuid[0] && !listed(m, g->uuid))
			return g;
	return NULL;
}

static void running(struct virt *v, const struct virt_msg *m)
{
	struct guest *g;
	size_t i;

	while ((g = not_running(v->gs, m))) {
		log_info("libvirt: domain '%s' stopped while poned was not "
			 "told", g->name);
		guests_detach_guest(v->gs, g);
	}
	for (i = v->nskipped; i-- > 0;)
		if (!listed(m, v->skipped[i].uuid))
			forget_skipped(v, v->skipped[i].uuid);
}

static void apply(struct virt *v, const struct virt_msg *m)
{
	switch (m->ev) {
	case VIRT_STARTED: started(v, m); break;
	case VIRT_STOPPED: stopped_domain(v, m); break;
	case VIRT_RUNNING: running(v, m); break;
	}
}

static void ready(struct source *s, uint32_t events)
{
	struct virt *v = (struct virt *)s;
	struct virt_msg *m, *next;
	uint64_t n;

	(void)events;
	if (read(v->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_err("libvirt: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&v->lock);
	m = v->queue;
	v->queue = NULL;
	v->tail = &v->queue;
	pthread_mutex_unlock(&v->lock);
	for (; m; m = next) {
		next = m->next;
		apply(v, m);
		free(m->uuids);
		free(m);
	}
}

static void quiet_errors(void *ctx, virErrorPtr e)
{
	(void)ctx;
	(void)e;
}

/* libvirt's event loop, once for the process, and its errors kept for
 * the log lines that say them, not printed. */
static int start_libvirt(void)
{
	if (virInitialize() || virEventRegisterDefaultImpl())
		return -EIO;
	virSetErrorFunc(NULL, quiet_errors);
	return 0;
}

static void free_virt(struct virt *v)
{
	struct virt_msg *m, *next;

	for (m = v->queue; m; m = next) {
		next = m->next;
		free(m->uuids);
		free(m);
	}
	if (v->efd >= 0)
		close(v->efd);
	pthread_mutex_destroy(&v->lock);
	free(v->skipped);
	free(v);
}

int virt_start(const char *uri, struct guests *gs, struct periods *p,
	       int epfd, struct virt **out)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct virt *v;
	int ret;

	*out = NULL;
	if (!strcmp(uri, "off"))
		return 0;
	ret = start_libvirt();
	if (ret)
		return ret;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*v = (struct virt){ .src.ready = ready, .gs = gs, .periods = p,
			    .quiet = !strcmp(uri, VIRT_AUTO),
			    .lifecycle_cb = -1, .metadata_cb = -1 };
	v->tail = &v->queue;
	pthread_mutex_init(&v->lock, NULL);
	snprintf(v->uri, sizeof(v->uri), "%s",
		 v->quiet ? "qemu:///system" : uri);
	snprintf(v->why, sizeof(v->why), "not connected yet");
	v->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ev.data.ptr = &v->src;
	if (v->efd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, v->efd, &ev)) {
		ret = -errno;
		free_virt(v);
		return ret;
	}
	v->retry = virEventAddTimeout(0, try_connect, v, NULL);
	ret = v->retry < 0 ? -EIO : -pthread_create(&v->thread, NULL, run, v);
	if (ret) {
		if (v->retry >= 0)
			virEventRemoveTimeout(v->retry);
		free_virt(v);
		return ret;
	}
	*out = v;
	return 0;
}

void virt_stop(struct virt *v)
{
	if (!v)
		return;
	__atomic_store_n(&v->stopping, true, __ATOMIC_RELEASE);
	virEventAddTimeout(0, wake, NULL, NULL);
	pthread_join(v->thread, NULL);
	free_virt(v);
}

json_t *virt_json(struct virt *v)
{
	json_t *o, *skipped = json_array();
	size_t i;

	if (!v)
		return json_pack("{s:s, s:b, s:s, s:o}", "uri", "off",
				 "connected", 0, "why", "libvirt = off",
				 "not_attached", skipped);
	for (i = 0; i < v->nskipped; i++)
		json_array_append_new(skipped, json_pack("{s:s, s:s, s:s}",
			"domain", v->skipped[i].name,
			"uuid", v->skipped[i].uuid,
			"why", v->skipped[i].why));
	pthread_mutex_lock(&v->lock);
	o = json_pack("{s:s, s:b, s:s?, s:I, s:o}", "uri", v->uri,
		      "connected", v->connected,
		      "why", v->connected ? NULL : v->why,
		      "connects", (json_int_t)v->connects,
		      "not_attached", skipped);
	pthread_mutex_unlock(&v->lock);
	return o;
}
