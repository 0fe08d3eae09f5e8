// SPDX-License-Identifier: GPL-2.0-only
/*
 * poned following a real libvirtd (qemu:///system, the QEMU driver, TCG
 * domains): a domain running when poned starts is attached when it
 * connects, one that starts is attached by its event and one destroyed is
 * detached; <nosharepages/> keeps a guest out of every merge though it
 * holds the pages two others share; PageONE's metadata names a sharing
 * domain or keeps a domain out; libvirtd restarted, poned connects again
 * and follows new domains; poned restarted, it takes the domains that run
 * and lets go of those that stopped meanwhile. The test starts libvirtd
 * (and virtlogd) itself when none answers, and stops what it started.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "qemu_guest.h"

#define URI "qemu:///system"
#define LOAD_MIB 256
/* 64 MiB alike in every guest, 32 MiB zero, 32 MiB its seed makes */
#define LOAD(seed) "dedup,64,32,32," #seed

static struct daemon_run d;
static struct qemu_image image;
static char dir[128];
static bool own_libvirtd;	/* started here, stopped here */

static virConnectPtr libvirt(void)
{
	return virConnectOpen(URI);
}

static bool pid_file_pid(const char *path, pid_t *pid)
{
	FILE *f = fopen(path, "r");
	int p = 0;
	bool ok = f && fscanf(f, "%d", &p) == 1 && p > 0;

	if (f)
		fclose(f);
	*pid = (pid_t)p;
	return ok;
}

static bool start_libvirtd(void)
{
	virConnectPtr c;
	int i;

	if (access("/run/libvirt/virtlogd-sock", F_OK) &&
	    system("virtlogd -d"))
		return false;
	if (system("libvirtd -d"))
		return false;
	for (i = 0; i < 100; i++, wait_s(0.1)) {
		c = libvirt();
		if (c) {
			virConnectClose(c);
			return true;
		}
	}
	return false;
}

static void stop_daemon_of(const char *pid_file)
{
	pid_t pid;
	int i;

	if (!pid_file_pid(pid_file, &pid))
		return;
	kill(pid, SIGTERM);
	for (i = 0; i < 100 && !kill(pid, 0); i++)
		wait_s(0.1);
}

static void quiet(void *ctx, virErrorPtr e)
{
	(void)ctx;
	(void)e;
}

/* Kernel and initramfs where QEMU, as libvirt's user, may read them. */
static void image_for_libvirt(void)
{
	char why[256], cmd[2048];

	if (qemu_image_prepare(&image, why, sizeof(why)))
		skip_all(why);
	snprintf(dir, sizeof(dir), "/tmp/pone-e2e-libvirt-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "mkdir -p -m 0755 %s && cp %s %s/vmlinuz "
		 "&& cp %s %s/initrd && chmod 0644 %s/vmlinuz %s/initrd", dir,
		 image.kernel, dir, image.initrd, dir, dir, dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * A transient TCG domain named pone-test-NAME. load: the guest's
 * workload, or NULL (no OS: it waits in the firmware); memory_backing and
 * metadata: XML of those elements, or "".
 */
static void start_domain(const char *name, const char *load,
			 const char *memory_backing, const char *metadata)
{
	virConnectPtr c = libvirt();
	virDomainPtr dom;
	char xml[4096], os[1024] = "";

	assert_non_null(c);
	if (load)
		snprintf(os, sizeof(os),
			 "<kernel>%s/vmlinuz</kernel><initrd>%s/initrd</initrd>"
			 "<cmdline>console=ttyS0 panic=-1 quiet loglevel=5 "
			 "init_on_free=1 guestload=%s</cmdline>", dir, dir,
			 load);
	snprintf(xml, sizeof(xml),
		 "<domain type='qemu'><name>pone-test-%s</name>"
		 "<memory unit='MiB'>%u</memory><vcpu>1</vcpu>"
		 "<os><type arch='x86_64' machine='pc'>hvm</type>%s</os>"
		 "%s<metadata>%s</metadata>"
		 "<on_poweroff>destroy</on_poweroff>"
		 "<on_reboot>destroy</on_reboot>"
		 "<devices><emulator>%s</emulator>"
		 "<serial type='file'><source path='%s/%s.console'/></serial>"
		 "</devices></domain>", name, load ? LOAD_MIB : 64, os,
		 memory_backing, metadata, getenv("QEMU"), dir, name);
	dom = virDomainCreateXML(c, xml, 0);
	if (!dom)
		fail_msg("domain %s: %s", name, virGetLastErrorMessage());
	virDomainFree(dom);
	virConnectClose(c);
}

static void destroy_domain(const char *name)
{
	virConnectPtr c = libvirt();
	char full[64];
	virDomainPtr dom;

	snprintf(full, sizeof(full), "pone-test-%s", name);
	dom = c ? virDomainLookupByName(c, full) : NULL;
	if (dom) {
		virDomainDestroy(dom);
		virDomainFree(dom);
	}
	if (c)
		virConnectClose(c);
}

/* Its workload's line on the console: its pages are all written. */
static void wait_filled(const char *name)
{
	char path[256], text[1 << 16];
	int i, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s.console", dir, name);
	for (i = 0; i < 1200; i++, wait_s(0.1)) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
		if (fd >= 0)
			close(fd);
		text[n > 0 ? n : 0] = '\0';
		if (strstr(text, "guestload: filled"))
			return;
	}
	fail_msg("%s: no 'guestload: filled' in 120 s: %s", name, text);
}

static json_t *status(void)
{
	json_t *st = daemon_status(&d);

	assert_non_null(st);
	return st;
}

static json_t *guest_of(json_t *st, const char *name)
{
	char full[64];

	snprintf(full, sizeof(full), "pone-test-%s", name);
	return status_guest(st, full);
}

static const char *text(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static uint64_t num(json_t *o, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(o, key));
}

/* Until the guest is attached (or not), within 20 s. */
static void wait_attached(const char *name, bool attached)
{
	json_t *st = NULL;
	int i;

	for (i = 0; i < 200; i++, wait_s(0.1)) {
		json_decref(st);
		st = status();
		if (!!guest_of(st, name) == attached)
			break;
	}
	if (!!guest_of(st, name) != attached)
		fail_msg("pone-test-%s still %sattached: %s", name,
			 attached ? "not " : "",
			 json_dumps(json_object_get(st, "libvirt"), 0));
	json_decref(st);
}

static void wait_connected(bool connected, uint64_t connects)
{
	json_t *st = NULL, *lv = NULL;
	int i;

	for (i = 0; i < 200; i++, wait_s(0.1)) {
		json_decref(st);
		st = status();
		lv = json_object_get(st, "libvirt");
		if (json_is_true(json_object_get(lv, "connected")) ==
		    connected && (!connected || num(lv, "connects") >= connects))
			break;
	}
	assert_int_equal(json_is_true(json_object_get(lv, "connected")),
			 connected);
	if (connected)
		assert_int_equal(num(lv, "connects"), connects);
	json_decref(st);
}

static char *domain_uuid(const char *name)
{
	virConnectPtr c = libvirt();
	static char uuid[VIR_UUID_STRING_BUFLEN];
	char full[64];
	virDomainPtr dom;

	snprintf(full, sizeof(full), "pone-test-%s", name);
	dom = virDomainLookupByName(c, full);
	assert_non_null(dom);
	assert_int_equal(virDomainGetUUIDString(dom, uuid), 0);
	virDomainFree(dom);
	virConnectClose(c);
	return uuid;
}

/* A running before poned starts: attached at the connect, by its name,
 * with its UUID. */
static void attached_at_connect(void **state)
{
	json_t *st;

	(void)state;
	start_domain("a", LOAD(1), "", "");
	assert_int_equal(daemon_start(&d), 0);
	wait_attached("a", true);
	st = status();
	assert_string_equal(text(guest_of(st, "a"), "libvirt_uuid"),
			    domain_uuid("a"));
	assert_string_equal(text(guest_of(st, "a"), "ram"), "anonymous");
	assert_string_equal(text(guest_of(st, "a"), "sharing"), "host");
	json_decref(st);
}

/* B (<nosharepages/>) and C started: attached by their events. A and C
 * find the pages they share; B, holding the same, finds none, and its
 * zero pages are found as any guest's. */
static void nosharepages_never_merged(void **state)
{
	json_t *st = NULL, *b;
	uint64_t across = 0;
	int i;

	(void)state;
	start_domain("b", LOAD(2), "<memoryBacking><nosharepages/>"
		     "</memoryBacking>", "");
	start_domain("c", LOAD(3), "", "");
	wait_attached("b", true);
	wait_attached("c", true);
	wait_filled("a");
	wait_filled("b");
	wait_filled("c");
	/* The later of two equal pages counts the duplicate. */
	for (i = 0; i < 600; i++, wait_s(0.1)) {
		json_decref(st);
		st = status();
		b = guest_of(st, "b");
		across = num(guest_of(st, "a"), "duplicates_across") +
			 num(guest_of(st, "c"), "duplicates_across");
		if (across >= (64 << 8) / 2 && num(b, "zero_pages") >= (32 << 8) / 2)
			break;
	}
	printf("a and c: %llu duplicates across; b: %llu duplicate pages, "
	       "%llu zero pages\n", (unsigned long long)across,
	       (unsigned long long)num(b, "duplicate_pages"),
	       (unsigned long long)num(b, "zero_pages"));
	assert_true(across >= (64 << 8) / 2);
	assert_true(num(b, "zero_pages") >= (32 << 8) / 2);
	assert_string_equal(text(b, "sharing"), "none");
	assert_int_equal(num(b, "duplicate_pages"), 0);
	assert_int_equal(num(b, "duplicates_within"), 0);
	assert_int_equal(num(b, "duplicates_across"), 0);
	json_decref(st);
}

static void set_metadata(const char *name, const char *xml)
{
	virConnectPtr c = libvirt();
	char full[64];
	virDomainPtr dom;

	snprintf(full, sizeof(full), "pone-test-%s", name);
	dom = virDomainLookupByName(c, full);
	assert_non_null(dom);
	assert_int_equal(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT,
					      xml, "pone",
					      "urn:pageone:libvirt:1",
					      VIR_DOMAIN_AFFECT_LIVE), 0);
	virDomainFree(dom);
	virConnectClose(c);
}

/* PageONE's metadata: D into sharing domain tenant-a, E kept out (and
 * status says why); D's changed while it runs. */
static void metadata_settings(void **state)
{
	json_t *st, *e, *o;
	size_t i;

	(void)state;
	start_domain("d", NULL, "", "<pone:settings xmlns:pone='"
		     "urn:pageone:libvirt:1' sharing='tenant-a'/>");
	start_domain("e", NULL, "", "<pone:settings xmlns:pone='"
		     "urn:pageone:libvirt:1' attach='no'/>");
	wait_attached("d", true);
	wait_s(1);
	st = status();
	assert_string_equal(text(guest_of(st, "d"), "sharing"), "tenant-a");
	assert_null(guest_of(st, "e"));
	e = NULL;
	json_array_foreach(json_object_get(json_object_get(st, "libvirt"),
					   "not_attached"), i, o)
		if (!strcmp(text(o, "domain"), "pone-test-e"))
			e = o;
	assert_non_null(e);
	assert_non_null(strstr(text(e, "why"), "attach=\"no\""));
	json_decref(st);

	/* Changed on the running domain: settings that cannot be read
	 * change nothing; good ones are taken at once. */
	set_metadata("d", "<settings attach='maybe'/>");
	wait_s(2);
	st = status();
	assert_string_equal(text(guest_of(st, "d"), "sharing"), "tenant-a");
	json_decref(st);
	set_metadata("d", "<settings sharing='tenant-b'/>");
	for (i = 0; i < 100; i++, wait_s(0.1)) {
		st = status();
		e = guest_of(st, "d");
		if (e && !strcmp(text(e, "sharing"), "tenant-b"))
			break;
		json_decref(st);
		st = NULL;
	}
	assert_non_null(st);
	json_decref(st);
}

static void detached_as_destroyed(void **state)
{
	(void)state;
	destroy_domain("a");
	wait_attached("a", false);
}

/* libvirtd stopped: poned says it is not connected; started again:
 * connected, and a domain started then is attached by its event. */
static void libvirtd_restarted(void **state)
{
	(void)state;
	if (!own_libvirtd) {
		printf("libvirtd was running before the test: not restarted\n");
		return;
	}
	stop_daemon_of("/run/libvirtd.pid");
	wait_connected(false, 0);
	assert_true(start_libvirtd());
	wait_connected(true, 2);
	start_domain("f", NULL, "", "");
	wait_attached("f", true);
}

/* poned stopped; meanwhile C stops and G starts. Started again, it takes
 * G and the rest that run (B still in no sharing domain), not C. */
static void reconciled_after_restart(void **state)
{
	json_t *st;

	(void)state;
	daemon_kill(&d, SIGTERM);
	destroy_domain("c");
	start_domain("g", NULL, "", "");
	assert_int_equal(daemon_start(&d), 0);
	wait_attached("g", true);
	st = status();
	assert_null(guest_of(st, "c"));
	assert_string_equal(text(guest_of(st, "b"), "sharing"), "none");
	assert_string_equal(text(guest_of(st, "b"), "libvirt_uuid"),
			    domain_uuid("b"));
	assert_string_equal(text(guest_of(st, "d"), "sharing"), "tenant-b");
	json_decref(st);
}

static int setup(void **state)
{
	virConnectPtr c;

	(void)state;
	virSetErrorFunc(NULL, quiet);
	image_for_libvirt();
	c = libvirt();
	if (c) {
		virConnectClose(c);
	} else {
		if (access("/usr/sbin/libvirtd", X_OK))
			skip_all("no libvirtd (Debian: libvirt-daemon-system)");
		if (!start_libvirtd())
			fail_msg("libvirtd does not start: %s",
				 virGetLastErrorMessage());
		own_libvirtd = true;
	}
	return daemon_prepare(&d, "libvirt", "libvirt = " URI "\n"
			      "reclaim_period = 1\nmerge_period = 1\n");
}

static int teardown(void **state)
{
	const char *names[] = { "a", "b", "c", "d", "e", "f", "g" };
	char cmd[256];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		destroy_domain(names[i]);
	if (d.pid)
		assert_int_equal(daemon_stop(&d), 0);
	if (own_libvirtd) {
		stop_daemon_of("/run/libvirtd.pid");
		stop_daemon_of("/run/virtlogd.pid");
	}
	qemu_image_release(&image);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		printf("cannot remove %s\n", dir);
	return harness_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(attached_at_connect),
		cmocka_unit_test(nosharepages_never_merged),
		cmocka_unit_test(metadata_settings),
		cmocka_unit_test(detached_as_destroyed),
		cmocka_unit_test(libvirtd_restarted),
		cmocka_unit_test(reconciled_after_restart),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
