// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qemu_guest.h"

/* Runs a command and keeps the first line of its output. */
static int first_line(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	bool got;

	if (!p)
		return -errno;
	got = fgets(out, (int)len, p) != NULL;
	if (pclose(p) || !got)
		return -1;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

int qemu_image_prepare(struct qemu_image *img, char *why, size_t len)
{
	const char *qemu = getenv("QEMU"), *scripts = getenv("PONE_VM_SCRIPTS");
	const char *cache = getenv("PONE_VM_CACHE");
	char cmd[1024];

	memset(img, 0, sizeof(*img));
	if (!scripts)
		snprintf(why, len, "run by meson: the paths come from it");
	else if (!getenv("PONE_GUESTLOAD"))
		snprintf(why, len, "no guest workload in this build (a "
			 "sanitizer's runtime cannot link statically)");
	else if (!qemu || !qemu[0])
		snprintf(why, len, "no qemu-system-x86_64 (Debian: "
			 "qemu-system-x86)");
	if (!scripts || !getenv("PONE_GUESTLOAD") || !qemu || !qemu[0])
		return -1;
	if (!cache)
		cache = getenv("PONE_KERNEL_CACHE");
	snprintf(cmd, sizeof(cmd), "bash %s/kernel.sh %s", scripts, cache);
	if (first_line(cmd, img->kernel, sizeof(img->kernel))) {
		snprintf(why, len, "cannot fetch Debian's kernel "
			 "(linux-image-amd64)");
		return -1;
	}
	snprintf(img->initrd, sizeof(img->initrd),
		 "/tmp/pone-e2e-qemu-%d.cpio.gz", (int)getpid());
	snprintf(cmd, sizeof(cmd), "bash %s/initramfs.sh %s %s %s", scripts,
		 img->initrd, getenv("PONE_GUEST_INIT"),
		 getenv("PONE_GUESTLOAD"));
	if (system(cmd)) {
		snprintf(why, len, "cannot pack the initramfs (busybox-static, "
			 "cpio)");
		return -1;
	}
	return 0;
}

void qemu_image_release(struct qemu_image *img)
{
	if (img->initrd[0])
		unlink(img->initrd);
}

static bool is_kernel_report(const char *line)
{
	static const char *const bad[] = {
		"WARNING:", "BUG:", "BUG ", "Oops", "Kernel panic",
		"Call Trace:", "Bad page", "general protection",
		"soft lockup", "hard LOCKUP", "blocked for more than",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(line, bad[i]))
			return true;
	return false;
}

/* The first whole line in the buffer: echoed, checked, and taken out; true
 * if it starts with prefix (then copied to line). */
static bool next_line(struct vm *vm, char *nl, const char *prefix,
		      char *line, size_t len)
{
	size_t n = (size_t)(nl - vm->buf);
	bool match;

	*nl = 0;
	vm->buf[strcspn(vm->buf, "\r")] = 0;
	printf("console %d: %s\n", (int)vm->c.pid, vm->buf);
	vm->kernel_report |= is_kernel_report(vm->buf);
	match = prefix && !strncmp(vm->buf, prefix, strlen(prefix));
	if (match)
		snprintf(line, len, "%s", vm->buf);
	memmove(vm->buf, nl + 1, vm->len - n - 1);
	vm->len -= n + 1;
	return match;
}

int vm_wait(struct vm *vm, const char *prefix, char *line, size_t len,
	    double timeout)
{
	double end = now_s() + timeout;
	int fd = fileno(vm->c.out);

	for (;;) {
		char *nl = memchr(vm->buf, '\n', vm->len);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (nl) {
			if (next_line(vm, nl, prefix, line, len))
				return 0;
			continue;
		}
		if (vm->len == sizeof(vm->buf) - 1)
			vm->len = 0;	/* no line is that long: noise */
		if (poll(&p, 1, (int)((end - now_s()) * 1000)) <= 0)
			return -1;
		k = read(fd, vm->buf + vm->len, sizeof(vm->buf) - 1 - vm->len);
		if (k <= 0)
			return -1;
		vm->len += (size_t)k;
	}
}

int vm_say(struct vm *vm, const char *cmd, const char *prefix, char *line,
	   size_t len, double timeout)
{
	if (fprintf(vm->c.in, "%s\n", cmd) < 0 || fflush(vm->c.in))
		return -1;
	return vm_wait(vm, prefix, line, len, timeout);
}

int vm_start(struct vm *vm, const struct qemu_image *img,
	     unsigned int ram_mib, bool memfd, const char *load)
{
	char ram[16], append[256], backend[96];
	const char *args[] = {
		"-accel", "tcg", "-smp", "2", "-m", ram,
		"-display", "none", "-serial", "stdio", "-monitor", "none",
		"-no-reboot", "-nic", "none", "-kernel", img->kernel,
		"-initrd", img->initrd, "-append", append,
		/* Without memfd, the list ends here. */
		memfd ? "-object" : NULL, backend,
		"-machine", "memory-backend=m0", NULL
	};

	memset(vm, 0, sizeof(*vm));
	snprintf(ram, sizeof(ram), "%uM", ram_mib);
	snprintf(backend, sizeof(backend),
		 "memory-backend-memfd,id=m0,size=%uM,share=on", ram_mib);
	snprintf(append, sizeof(append),
		 "console=ttyS0 panic=-1 oops=panic quiet loglevel=5 "
		 "init_on_free=1%s%s", load ? " guestload=" : "",
		 load ? load : "");
	return child_start(&vm->c, getenv("QEMU"), args);
}

void vm_stop(struct vm *vm)
{
	int i;

	fprintf(vm->c.in, "quit\n");
	fflush(vm->c.in);
	vm_wait(vm, NULL, NULL, 0, 30);
	for (i = 0; i < 100 && waitpid(vm->c.pid, NULL, WNOHANG) == 0; i++)
		wait_s(0.1);
	fclose(vm->c.in);
	fclose(vm->c.out);
}
