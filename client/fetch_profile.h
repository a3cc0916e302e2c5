/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Saving a profile that cprofd sends (gzipped pprof), for stop and
 * profile: the body goes to a file through atomic_file, and a summary of
 * the X-Cprof-* headers is printed, as text or JSON.
 */
#ifndef CPROF_CLIENT_FETCH_PROFILE_H
#define CPROF_CLIENT_FETCH_PROFILE_H

/*
 * Send method target (waiting up to timeout_seconds) and save the
 * profile of pid that comes back into output, or cprof-PID.pb.gz where
 * output is NULL, "-" for standard output. Returns 0 after printing the
 * summary, or EXIT_FAIL after printing why nothing was saved and where
 * the data is: before_note when the request was not sent, after_note
 * (may be "") when it was.
 */
int fetch_profile(const char *method, const char *target, long timeout_seconds, int pid,
		  const char *output, const char *before_note, const char *after_note);

#endif /* CPROF_CLIENT_FETCH_PROFILE_H */
