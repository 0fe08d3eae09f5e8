/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * poned's figures in Prometheus's text exposition format, made from the
 * status object (status.h), so that they are the same figures `pone-ctl
 * status --json` gives: `pone-ctl metrics` prints them, and poned writes
 * them to metrics_file every reclaim period for node_exporter's textfile
 * collector. Names are node_exporter's style: pone_ first, counters end
 * in _total, bytes in _bytes, seconds in _seconds; a guest's figures carry
 * its name as the label guest. A figure status does not have (no pass
 * yet, a guest KSM cannot merge) is left out, not given as 0.
 */
#ifndef PONED_METRICS_H
#define PONED_METRICS_H

#include <jansson.h>
#include <stdio.h>

/* Writes the metrics of status to out; 0 or negative errno. */
int metrics_write(json_t *status, FILE *out);

#endif
