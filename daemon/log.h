/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging to stderr, which systemd hands to the journal: each line starts
 * with its syslog priority ("<3>"), which the journal turns into the
 * level and strips; on a terminal the level is spelt out instead.
 * log_init() once, before any thread starts; log_msg() from any thread.
 */
#ifndef PONED_LOG_H
#define PONED_LOG_H

/* syslog's priorities, under names of our own: syslog.h has LOG_ERR. */
enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARN = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

void log_init(enum log_level max);
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

__attribute__((format(printf, 2, 3)))
void log_msg(enum log_level level, const char *fmt, ...);

#define log_err(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
