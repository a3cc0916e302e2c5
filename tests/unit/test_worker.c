/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unit tests of daemon/util/worker.c: jobs run on another thread, in order, come
 * back through the eventfd; a full queue says so; freeing with jobs queued,
 * running and done releases every one of them, and stops a long job.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "util/worker.h"

struct test_job {
	struct worker_job job;
	int index;
	pthread_t ran_on; /* the thread run() was called on */
	bool ran;
	bool block; /* run() waits on the gate (or until the worker stops) */
	atomic_int *released; /* counts release() calls */
};

/* Holds blocking jobs until opened. */
static atomic_bool gate_open;
static atomic_bool blocked_job_started;

static void test_job_run(struct worker_job *job, struct worker *w)
{
	struct test_job *t = (struct test_job *)job;

	t->ran_on = pthread_self();
	t->ran = true;
	if (t->block) {
		blocked_job_started = true;
		while (!gate_open && !worker__stopping(w))
			usleep(1000);
	}
}

static void test_job_release(struct worker_job *job)
{
	struct test_job *t = (struct test_job *)job;

	(*t->released)++;
	free(t);
}

static struct test_job *new_job(int index, atomic_int *released)
{
	struct test_job *t = calloc(1, sizeof(*t));

	if (!t)
		abort();
	t->job.run = test_job_run;
	t->job.release = test_job_release;
	t->index = index;
	t->released = released;
	return t;
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLIN);
}

static void test_jobs_come_back_in_order(void)
{
	struct worker *w = worker__new(0);
	atomic_int released = 0;
	int seen = 0, rounds = 0;

	if (!ASSERT_NOT_NULL(w))
		return;
	ASSERT_FALSE(readable(worker__fd(w), 0));
	ASSERT_TRUE(worker__take_done(w) == NULL);
	for (int i = 0; i < 50; i++)
		ASSERT_OK(worker__submit(w, &new_job(i, &released)->job));
	/* Everything comes back, oldest first, each run on the worker's thread. */
	while (seen < 50 && rounds++ < 1000) {
		struct worker_job *job, *next;

		if (!readable(worker__fd(w), 5000))
			break;
		for (job = worker__take_done(w); job; job = next) {
			struct test_job *t = (struct test_job *)job;

			next = job->next;
			ASSERT_EQ(t->index, seen);
			ASSERT_TRUE(t->ran);
			ASSERT_FALSE(pthread_equal(t->ran_on, pthread_self()));
			seen++;
			job->release(job);
		}
	}
	ASSERT_EQ(seen, 50);
	ASSERT_EQ(released, 50);
	ASSERT_EQ(worker__pending(w), 0);
	/*
	 * A job that finished between the read of the eventfd and the take
	 * leaves it readable for a take that finds nothing; then it is clear.
	 */
	ASSERT_TRUE(worker__take_done(w) == NULL);
	ASSERT_FALSE(readable(worker__fd(w), 0));
	worker__free(w);
	worker__free(NULL);
}

static void test_full_queue(void)
{
	struct worker *w = worker__new(3);
	struct test_job *extra;
	atomic_int released = 0;
	struct worker_job *job, *next;
	int taken = 0;

	if (!ASSERT_NOT_NULL(w))
		return;
	gate_open = false;
	blocked_job_started = false;
	struct test_job *first = new_job(0, &released);

	first->block = true;
	ASSERT_OK(worker__submit(w, &first->job));
	ASSERT_OK(worker__submit(w, &new_job(1, &released)->job));
	ASSERT_OK(worker__submit(w, &new_job(2, &released)->job));
	/* One running, two queued: the bound. */
	extra = new_job(3, &released);
	ASSERT_EQ(worker__submit(w, &extra->job), -EBUSY);
	ASSERT_EQ(worker__pending(w), 3);
	gate_open = true;
	for (int i = 0; i < 100 && taken < 3; i++) {
		if (!readable(worker__fd(w), 5000))
			break;
		for (job = worker__take_done(w); job; job = next) {
			next = job->next;
			job->release(job);
			taken++;
		}
	}
	ASSERT_EQ(taken, 3);
	/* Room again. */
	ASSERT_OK(worker__submit(w, &extra->job));
	worker__free(w);
	ASSERT_EQ(released, 4);
}

static void test_free_with_jobs_pending(void)
{
	struct worker *w = worker__new(0);
	atomic_int released = 0;
	struct timespec start, end;
	struct test_job *blocker;

	if (!ASSERT_NOT_NULL(w))
		return;
	gate_open = false;
	blocked_job_started = false;
	/* Done and not taken back, running (blocked until the worker stops), queued. */
	ASSERT_OK(worker__submit(w, &new_job(0, &released)->job));
	for (int i = 0; i < 5000 && !readable(worker__fd(w), 0); i++)
		usleep(1000);
	blocker = new_job(1, &released);
	blocker->block = true;
	ASSERT_OK(worker__submit(w, &blocker->job));
	for (int i = 0; i < 100; i++)
		ASSERT_OK(worker__submit(w, &new_job(2 + i, &released)->job));
	for (int i = 0; i < 5000 && !blocked_job_started; i++)
		usleep(1000);
	ASSERT_TRUE(blocked_job_started);
	clock_gettime(CLOCK_MONOTONIC, &start);
	worker__free(w);
	clock_gettime(CLOCK_MONOTONIC, &end);
	/* Every job released once: the done one, the stopped one, the 100 never run. */
	ASSERT_EQ(released, 102);
	/* The running job saw worker__stopping() and gave up at once. */
	ASSERT_TRUE(end.tv_sec - start.tv_sec < 2);
}

int main(void)
{
	RUN_TEST(test_jobs_come_back_in_order);
	RUN_TEST(test_full_queue);
	RUN_TEST(test_free_with_jobs_pending);
	return TEST_SUMMARY();
}
