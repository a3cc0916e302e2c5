/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One background thread that runs jobs the event loop hands it (loading a
 * binary's symbols, fetching a debug file), so that slow disk and network
 * work never stalls the loop. Jobs are queued in order, run one at a time,
 * and come back through worker__take_done(); an eventfd (worker__fd())
 * becomes readable when finished jobs wait, for the loop to poll. The loop
 * never waits on the thread, but in worker__free().
 *
 * A job owns nothing shared: it reads what it was given and builds its
 * result in itself; the owner looks at the result only once it is taken
 * back. Library-like: does not log.
 */
#ifndef CPROF_WORKER_H
#define CPROF_WORKER_H

#include <stdbool.h>
#include <stddef.h>

struct worker;

/* A unit of work; embed it in a struct of your own. */
struct worker_job {
	/* Runs on the worker thread. May poll worker__stopping() to give up early. */
	void (*run)(struct worker_job *job, struct worker *w);
	/* Frees the job; on the owner's thread, also for jobs never run (at free). */
	void (*release)(struct worker_job *job);
	struct worker_job *next; /* the worker's, then the done list's */
};

/*
 * Starts the thread; at most max_jobs may be queued or running at once (0: a
 * default of 1024). Returns NULL with errno set on failure.
 */
struct worker *worker__new(size_t max_jobs);

/*
 * Stops the thread: the job running is asked to stop (worker__stopping())
 * and waited for; every job not yet taken back, run or not, is released.
 * NULL is a no-op.
 */
void worker__free(struct worker *w);

/* The eventfd to poll for EPOLLIN: some jobs are done. */
int worker__fd(const struct worker *w);

/* Queues job. Returns 0, or -EBUSY when max_jobs are queued or running. */
int worker__submit(struct worker *w, struct worker_job *job);

/*
 * Takes back every finished job, oldest first, as a list through ->next
 * (NULL when none); the caller releases them. Clears the eventfd before
 * taking, so a job finishing meanwhile makes it readable again.
 */
struct worker_job *worker__take_done(struct worker *w);

/* Jobs queued or running (not counting those done and not taken back). */
size_t worker__pending(const struct worker *w);

/* For a running job: true once worker__free() wants the thread to end. */
bool worker__stopping(struct worker *w);

#endif /* CPROF_WORKER_H */
