// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define DEFAULT_MAX_JOBS 1024

struct worker {
	pthread_t thread;
	pthread_mutex_t lock; /* guards everything below but event_fd */
	pthread_cond_t wake; /* a job was queued, or stop was set */
	struct worker_job *queue_head, *queue_tail; /* waiting to run */
	struct worker_job *done_head, *done_tail; /* run, not yet taken back */
	size_t pending; /* queued plus the one running */
	size_t max_jobs;
	bool stop;
	int event_fd;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct worker_job *job;

		while (!w->stop && !w->queue_head)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stop)
			break;
		job = w->queue_head;
		w->queue_head = job->next;
		if (!w->queue_head)
			w->queue_tail = NULL;
		job->next = NULL;
		pthread_mutex_unlock(&w->lock);

		job->run(job, w);

		pthread_mutex_lock(&w->lock);
		if (w->done_tail)
			w->done_tail->next = job;
		else
			w->done_head = job;
		w->done_tail = job;
		w->pending--;
		/* Cannot fail but on counter overflow, which 2^64 jobs would take. */
		(void)!write(w->event_fd, &(uint64_t){ 1 }, sizeof(uint64_t));
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct worker *worker__new(size_t max_jobs)
{
	sigset_t all, old;
	struct worker *w;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->max_jobs = max_jobs ? max_jobs : DEFAULT_MAX_JOBS;
	w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->event_fd < 0) {
		err = errno;
		free(w);
		errno = err;
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	/* Signals are the loop's (signalfd): the thread must never take one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		close(w->event_fd);
		free(w);
		errno = err;
		return NULL;
	}
	return w;
}

static void release_list(struct worker_job *job)
{
	while (job) {
		struct worker_job *next = job->next;

		job->release(job);
		job = next;
	}
}

void worker__free(struct worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	release_list(w->queue_head);
	release_list(w->done_head);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	close(w->event_fd);
	free(w);
}

int worker__fd(const struct worker *w)
{
	return w->event_fd;
}

int worker__submit(struct worker *w, struct worker_job *job)
{
	int err = 0;

	job->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->stop) {
		err = -ESHUTDOWN;
	} else if (w->pending >= w->max_jobs) {
		err = -EBUSY;
	} else {
		if (w->queue_tail)
			w->queue_tail->next = job;
		else
			w->queue_head = job;
		w->queue_tail = job;
		w->pending++;
		pthread_cond_signal(&w->wake);
	}
	pthread_mutex_unlock(&w->lock);
	return err;
}

struct worker_job *worker__take_done(struct worker *w)
{
	struct worker_job *done;
	uint64_t count;

	/* Nonblocking: nothing to read is fine. */
	(void)!read(w->event_fd, &count, sizeof(count));
	pthread_mutex_lock(&w->lock);
	done = w->done_head;
	w->done_head = w->done_tail = NULL;
	pthread_mutex_unlock(&w->lock);
	return done;
}

size_t worker__pending(const struct worker *w)
{
	struct worker *m = (struct worker *)w; /* the lock is not part of the value */
	size_t n;

	pthread_mutex_lock(&m->lock);
	n = m->pending;
	pthread_mutex_unlock(&m->lock);
	return n;
}

bool worker__stopping(struct worker *w)
{
	bool stop;

	pthread_mutex_lock(&w->lock);
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	return stop;
}
