/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What poned tells systemd (its unit is Type=notify): sd_notify(),
 * sd_notifyf() and sd_watchdog_enabled() of libsystemd. A poned built without libsystemd
 * (-Dsystemd=disabled) tells no one, and its unit is Type=exec.
 */
#ifndef PONED_NOTIFY_H
#define PONED_NOTIFY_H

#ifdef PONE_SYSTEMD
#include <systemd/sd-daemon.h>
#else
#include <stdint.h>

static inline int sd_notify(int unset_environment, const char *state)
{
	(void)unset_environment;
	(void)state;
	return 0;
}

__attribute__((format(printf, 2, 3)))
static inline int sd_notifyf(int unset_environment, const char *format, ...)
{
	(void)unset_environment;
	(void)format;
	return 0;
}

static inline int sd_watchdog_enabled(int unset_environment, uint64_t *usec)
{
	(void)unset_environment;
	(void)usec;
	return 0;
}
#endif

#endif
