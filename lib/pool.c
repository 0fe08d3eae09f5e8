// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "pool.h"

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t start, done;
	pool_fn *fn;
	void *arg;
	uint64_t gen;		/* bumped per run; workers wait for a new one */
	unsigned int active;	/* workers taking part in this run */
	unsigned int running;
	uint64_t cpu_ns;
	bool stop;
	unsigned int n;
	pthread_t *threads;
	int *node;		/* each worker's, or -1 */
};

struct worker_arg {
	struct pool *p;
	unsigned int id;
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker_main(void *a)
{
	struct worker_arg wa = *(struct worker_arg *)a;
	struct pool *p = wa.p;
	uint64_t seen = 0;

	free(a);
	/* Told apart in top -H, gdb and the tests. */
	pthread_setname_np(pthread_self(), "pone-worker");
	pthread_mutex_lock(&p->lock);
	for (;;) {
		uint64_t t0;

		while (!p->stop && p->gen == seen)
			pthread_cond_wait(&p->start, &p->lock);
		if (p->stop)
			break;
		seen = p->gen;
		if (wa.id >= p->active)
			continue;
		pthread_mutex_unlock(&p->lock);

		t0 = thread_cpu_ns();
		p->fn(p->arg, wa.id);
		t0 = thread_cpu_ns() - t0;

		pthread_mutex_lock(&p->lock);
		p->cpu_ns += t0;
		if (--p->running == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Bound before it runs: a worker never reads a page from the wrong node
 * while the scheduler has yet to move it. */
static int start_worker(struct pool *p, unsigned int i,
			const struct placement *pl)
{
	struct worker_arg *wa = malloc(sizeof(*wa));
	pthread_attr_t attr;
	int slot = pl && pl->nodes ? (int)(i % pl->nodes) : -1;
	int ret;

	if (!wa)
		return -ENOMEM;
	*wa = (struct worker_arg){ .p = p, .id = i };
	ret = pthread_attr_init(&attr);
	if (ret) {
		free(wa);
		return -ret;
	}
	if (slot >= 0)
		ret = pthread_attr_setaffinity_np(&attr, sizeof(pl->cpus[0]),
						  &pl->cpus[slot]);
	if (!ret)
		ret = pthread_create(&p->threads[i], &attr, worker_main, wa);
	pthread_attr_destroy(&attr);
	if (ret) {
		free(wa);
		return -ret;
	}
	p->node[i] = slot >= 0 ? pl->node[slot] : -1;
	return 0;
}

int pool_new(unsigned int workers, const struct placement *pl,
	     struct pool **out)
{
	struct pool *p;
	unsigned int i;

	if (!workers)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->threads = calloc(workers, sizeof(*p->threads));
	p->node = calloc(workers, sizeof(*p->node));
	if (!p->threads || !p->node) {
		free(p->threads);
		free(p->node);
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->start, NULL);
	pthread_cond_init(&p->done, NULL);
	for (i = 0; i < workers; i++) {
		int ret = start_worker(p, i, pl);

		if (ret) {
			pool_free(p);
			return ret;
		}
		p->n++;
	}
	*out = p;
	return 0;
}

void pool_free(struct pool *p)
{
	unsigned int i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->start);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->start);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p->node);
	free(p);
}

uint64_t pool_run(struct pool *p, unsigned int n, pool_fn *fn, void *arg)
{
	uint64_t cpu;

	if (n > p->n)
		n = p->n;
	pthread_mutex_lock(&p->lock);
	p->fn = fn;
	p->arg = arg;
	p->cpu_ns = 0;
	p->active = n;
	p->running = n;
	p->gen++;
	pthread_cond_broadcast(&p->start);
	while (p->running)
		pthread_cond_wait(&p->done, &p->lock);
	cpu = p->cpu_ns;
	pthread_mutex_unlock(&p->lock);
	return cpu;
}

unsigned int pool_size(const struct pool *p)
{
	return p->n;
}

int pool_worker_node(const struct pool *p, unsigned int i)
{
	return i < p->n ? p->node[i] : -1;
}
