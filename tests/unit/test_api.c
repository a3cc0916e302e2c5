/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unit tests of daemon/server/api.c over a daemon core without a sampler: routing,
 * methods, validation of every parameter, the error bodies, and the JSON of
 * the status routes. Nothing here needs BPF or root.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "cprof_protocol.h"
#include "cprofd.h"
#include "server/api.h"
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <signal.h>
#include "test.h"

#define MAX_PARAMS 4

/* The query of a request: name/value pairs, ended by a NULL name. */
struct params {
	const char *names[MAX_PARAMS + 1];
	const char *values[MAX_PARAMS + 1];
};

/* Who the requests come from; root unless a test says otherwise. */
static const struct access_peer root_peer = { .uid = 0, .gid = 0 };
static const struct access_peer *current_peer = &root_peer;

static const char *get_param(void *ctx, const char *name)
{
	struct params *p = ctx;

	for (int i = 0; p->names[i]; i++)
		if (strcmp(p->names[i], name) == 0)
			return p->values[i];
	return NULL;
}

static struct cprofd *new_daemon(void)
{
	struct cprofd_options opts = {
		.no_sampler = true,
		.stack_table_bytes = 1 << 20,
		.max_processes = 16,
		.default_hz = 99,
		.ring_buffer_bytes = 4096,
	};
	struct cprofd *d = cprofd__new(&opts);

	if (!d)
		printf("#   cprofd__new: %s\n", strerror(errno));
	return d;
}

/*
 * Handles method path with up to two parameters (name, value, name, value;
 * NULL names end the list) and returns the response.
 */
static struct api_response request(struct cprofd *d, const char *method, const char *path,
				   const char *name1, const char *value1, const char *name2,
				   const char *value2)
{
	struct params params = { .names = { name1, name1 ? name2 : NULL },
				 .values = { value1, value2 } };
	struct api_request req = {
		.method = method,
		.path = path,
		.peer = current_peer,
		.get_param = get_param,
		.ctx = &params,
	};
	struct api_response resp;

	/* Garbage first: the handler must fill every field. */
	memset(&resp, 0xa5, sizeof(resp));
	api__handle(d, &req, &resp);
	return resp;
}

/* Whether body is one line of a JSON object: "{...}\n" with nothing after. */
static bool is_json_object_line(const struct api_response *resp)
{
	const char *body = resp->body;
	size_t n = resp->body_size;

	if (!ASSERT_NOT_NULL(body) || !ASSERT_EQ(strlen(body), n) || !ASSERT_TRUE(n >= 3))
		return false;
	if (!ASSERT_TRUE(body[0] == '{') || !ASSERT_TRUE(strcmp(body + n - 2, "}\n") == 0))
		return false;
	/* The only newline ends it. */
	return ASSERT_TRUE(strchr(body, '\n') == body + n - 1);
}

/* Checks an error response: status, JSON type, {"error":"...what..."}. */
#define ASSERT_ERROR(resp, want_status, what)                                                      \
	({                                                                                         \
		const struct api_response *r__ = (resp);                                           \
		bool ok__ = ASSERT_EQ(r__->status, want_status);                                   \
		ok__ &= ASSERT_STREQ(r__->content_type, CPROF_CONTENT_TYPE_JSON);                  \
		ok__ &= ASSERT_FALSE(r__->has_summary);                                            \
		ok__ &= ASSERT_EQ(r__->defer_seconds, 0);                                          \
		if (is_json_object_line(r__)) {                                                    \
			ok__ &= ASSERT_TRUE(strncmp(r__->body, "{\"error\":\"", 10) == 0);         \
			ok__ &= ASSERT_TRUE(strstr(r__->body, what) != NULL);                      \
		} else {                                                                           \
			ok__ = false;                                                              \
		}                                                                                  \
		if (!ok__)                                                                         \
			printf("#   body: %s", r__->body ? r__->body : "(null)\n");                \
		ok__;                                                                              \
	})

static void print_request(const char *method, const char *path, const char *name1,
			  const char *value1, const char *name2, const char *value2)
{
	printf("#   request: %s %s", method, path);
	if (name1)
		printf(" %s=\"%s\"", name1, value1);
	if (name1 && name2)
		printf(" %s=\"%s\"", name2, value2);
	printf("\n");
}

/* Sends one request expected to fail and checks its error. */
#define ASSERT_REQUEST_ERROR(d, method, path, n1, v1, n2, v2, want_status, what)                   \
	({                                                                                         \
		struct api_response resp__ = request(d, method, path, n1, v1, n2, v2);             \
		bool passed__ = ASSERT_ERROR(&resp__, want_status, what);                          \
		if (!passed__)                                                                     \
			print_request(method, path, n1, v1, n2, v2);                               \
		api_response__release(&resp__);                                                    \
		passed__;                                                                          \
	})

static void test_new_without_sampler(void)
{
	struct cprofd *d = new_daemon();

	if (!ASSERT_NOT_NULL(d))
		return;
	ASSERT_EQ(cprofd__default_hz(d), 99);
	ASSERT_EQ(cprofd__ring_fd(d), -1);
	ASSERT_EQ(cprofd__n_sessions(d), 0);
	ASSERT_EQ(cprofd__drain(d), 0);
	ASSERT_FALSE(cprofd__has_session(d, getpid()));
	ASSERT_EQ(cprofd__start_session(d, getpid(), 99, false, 0), -ENODEV);
	ASSERT_EQ(cprofd__start_session(d, getpid(), 0, false, 0), -ERANGE);
	ASSERT_EQ(cprofd__n_sessions(d), 0);
	cprofd__free(d);
	cprofd__free(NULL);
}

static void test_start_bad_pid(void)
{
	static const char *const bad[] = {
		"",
		"0",
		"-1",
		"+1",
		"abc",
		"12abc",
		" 12",
		"12 ",
		"007",
		"0x10",
		"1e3",
		"1.0",
		"2147483648",
		"4294967297",
		"9999999999999999999",
		"99999999999999999999",
		"18446744073709551617",
	};
	struct cprofd *d = new_daemon();

	if (!ASSERT_NOT_NULL(d))
		return;
	ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions", NULL, NULL, NULL, NULL, 400,
			     "missing parameter: pid");
	/* Other parameters don't stand in for it. */
	ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions", "hz", "99", NULL, NULL, 400,
			     "missing parameter: pid");
	ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions", "PID", "1", NULL, NULL, 400,
			     "missing parameter: pid");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions", "pid", bad[i], NULL, NULL, 400,
				     "bad pid");
	ASSERT_EQ(cprofd__n_sessions(d), 0);
	cprofd__free(d);
}

static void test_start_bad_hz(void)
{
	static const char *const out_of_range[] = { "0", "10001", "65536", "4294967296" };
	static const char *const bad[] = { "",	  "x",	 "-1",	"99x",
					   " 99", "099", "9.9", "99999999999999999999" };
	char pid[16];
	struct cprofd *d = new_daemon();

	if (!ASSERT_NOT_NULL(d))
		return;
	snprintf(pid, sizeof(pid), "%d", getpid());
	for (size_t i = 0; i < sizeof(out_of_range) / sizeof(out_of_range[0]); i++)
		ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions", "pid", pid, "hz", out_of_range[i],
				     400, "out of range");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions", "pid", pid, "hz", bad[i], 400,
				     "bad hz");
	/* The limits themselves are valid: the request gets as far as the (missing) sampler. */
	ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions", "pid", pid, "hz", "1", 503,
			     "not available");
	ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions", "pid", pid, "hz", "10000", 503,
			     "not available");
	/* A bad pid is reported before a bad hz. */
	ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions", "pid", "abc", "hz", "0", 400, "bad pid");
	cprofd__free(d);
}

/* A pid no process can have: above the kernel's pid_max. */
static pid_t pid_above_max(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
	long pid_max = 0;

	if (f) {
		if (fscanf(f, "%ld", &pid_max) != 1)
			pid_max = 0;
		fclose(f);
	}
	/* The kernel's own ceiling (PID_MAX_LIMIT on 64-bit) when the file can't be read. */
	if (pid_max <= 0 || pid_max >= INT32_MAX)
		pid_max = 4 * 1024 * 1024;
	return (pid_t)(pid_max + 1);
}

static void test_start_missing_process(void)
{
	struct cprofd *d = new_daemon();
	char pid[16], message[64];

	if (!ASSERT_NOT_NULL(d))
		return;
	snprintf(pid, sizeof(pid), "%d", pid_above_max());
	snprintf(message, sizeof(message), "no process %s", pid);
	ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions", "pid", pid, NULL, NULL, 404, message);
	ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions", "pid", pid, "hz", "99", 404, message);
	ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions", "pid", "2147483647", NULL, NULL, 404,
			     "no process 2147483647");
	ASSERT_EQ(cprofd__n_sessions(d), 0);
	cprofd__free(d);
}

static void test_start_without_sampler(void)
{
	struct cprofd *d = new_daemon();
	struct api_response resp;
	char pid[16];

	if (!ASSERT_NOT_NULL(d))
		return;
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions", "pid", pid, NULL, NULL, 503,
			     "not available");
	ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions", "pid", pid, "hz", "99", 503,
			     "not available");
	/* Nothing was left behind: no session, and a stop finds none. */
	ASSERT_EQ(cprofd__n_sessions(d), 0);
	ASSERT_FALSE(cprofd__has_session(d, getpid()));
	resp = request(d, "GET", "/v1/sessions", NULL, NULL, NULL, NULL);
	ASSERT_EQ(resp.status, 200);
	ASSERT_STREQ(resp.body, "{\"sessions\":[]}\n");
	api_response__release(&resp);
	cprofd__free(d);
}

static void test_routes_and_methods(void)
{
	static const char *const unknown[] = {
		"/",
		"",
		"/v1",
		"/v1/",
		"/v1/session",
		"/v1/sessionsx",
		"/v1/status/",
		"/v1/statusx",
		"/V1/STATUS",
		"/debug/pprof/",
		"/debug/pprof/heap",
		"/debug/pprof/profile/",
		"/v2/sessions",
		"v1/sessions",
	};
	static const struct {
		const char *method, *path, *hint;
	} wrong[] = {
		{ "PUT", "/v1/sessions", "use GET or POST" },
		{ "DELETE", "/v1/sessions", "use GET or POST" },
		{ "HEAD", "/v1/sessions", "use GET or POST" },
		{ "get", "/v1/sessions", "use GET or POST" },
		{ "POST", "/v1/sessions/1", "use GET or DELETE" },
		{ "PUT", "/v1/sessions/abc", "use GET or DELETE" },
		{ "delete", "/v1/sessions/1", "use GET or DELETE" },
		{ "GET", "/v1/sessions/1/stop", "use POST" },
		{ "DELETE", "/v1/sessions/1/stop", "use POST" },
		{ "POST", "/v1/sessions/1/profile", "use GET" },
		{ "DELETE", "/v1/sessions/12/profile", "use GET" },
		{ "POST", "/v1/status", "use GET" },
		{ "DELETE", "/v1/status", "use GET" },
		{ "POST", "/debug/pprof/profile", "use GET" },
		{ "DELETE", "/debug/pprof/profile", "use GET" },
		{ "", "/v1/status", "use GET" },
	};
	struct cprofd *d = new_daemon();

	if (!ASSERT_NOT_NULL(d))
		return;
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		ASSERT_REQUEST_ERROR(d, "GET", unknown[i], NULL, NULL, NULL, NULL, 404,
				     "no such route");
		ASSERT_REQUEST_ERROR(d, "POST", unknown[i], "pid", "1", NULL, NULL, 404,
				     "no such route");
	}
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		ASSERT_REQUEST_ERROR(d, wrong[i].method, wrong[i].path, "pid", "1", "seconds", "1",
				     405, wrong[i].hint);
	cprofd__free(d);
}

static void test_stop(void)
{
	static const char *const bad[] = {
		"/v1/sessions/",	   "/v1/sessions/abc",
		"/v1/sessions/0",	   "/v1/sessions/-1",
		"/v1/sessions/007",	   "/v1/sessions/12?x",
		"/v1/sessions/ 12",	   "/v1/sessions/99999999999999999999",
		"/v1/sessions/2147483648",
	};
	struct cprofd *d = new_daemon();
	struct api_response resp;
	char path[64];

	if (!ASSERT_NOT_NULL(d))
		return;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_REQUEST_ERROR(d, "DELETE", bad[i], NULL, NULL, NULL, NULL, 400,
				     "bad pid in path");
	ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions/abc/stop", NULL, NULL, NULL, NULL, 400,
			     "bad pid in path");
	ASSERT_REQUEST_ERROR(d, "GET", "/v1/sessions/-1/profile", NULL, NULL, NULL, NULL, 400,
			     "bad pid in path");
	/* Only .../stop and .../profile live under a session. */
	ASSERT_REQUEST_ERROR(d, "DELETE", "/v1/sessions/12/", NULL, NULL, NULL, NULL, 404,
			     "no such route");
	ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions/12/stop/now", NULL, NULL, NULL, NULL, 404,
			     "no such route");
	ASSERT_REQUEST_ERROR(d, "POST", "/v1/sessions/12345/stop", NULL, NULL, NULL, NULL, 404,
			     "no session for process 12345");
	ASSERT_REQUEST_ERROR(d, "GET", "/v1/sessions/12345/profile", NULL, NULL, NULL, NULL, 404,
			     "no session for process 12345");
	ASSERT_REQUEST_ERROR(d, "GET", "/v1/sessions/12345", NULL, NULL, NULL, NULL, 404,
			     "no session for process 12345");
	ASSERT_REQUEST_ERROR(d, "DELETE", "/v1/sessions/12345", NULL, NULL, NULL, NULL, 404,
			     "no session for process 12345");
	/* A process that exists but is not profiled: still no session. */
	snprintf(path, sizeof(path), "/v1/sessions/%d", getpid());
	ASSERT_REQUEST_ERROR(d, "DELETE", path, NULL, NULL, NULL, NULL, 404, "no session");
	/* The end of a timed profile whose session is gone. */
	memset(&resp, 0xa5, sizeof(resp));
	api__finish_profile(d, 12345, true, &resp);
	ASSERT_ERROR(&resp, 404, "no session for process 12345");
	api_response__release(&resp);
	ASSERT_TRUE(resp.body == NULL);
	/* Releasing twice is harmless. */
	api_response__release(&resp);
	cprofd__free(d);
}

static void test_status(void)
{
	struct cprofd *d = new_daemon();
	struct api_response resp;
	char pid[32];

	if (!ASSERT_NOT_NULL(d))
		return;
	resp = request(d, "GET", "/v1/status", NULL, NULL, NULL, NULL);
	ASSERT_EQ(resp.status, 200);
	ASSERT_STREQ(resp.content_type, CPROF_CONTENT_TYPE_JSON);
	ASSERT_FALSE(resp.has_summary);
	ASSERT_EQ(resp.defer_seconds, 0);
	if (is_json_object_line(&resp)) {
		snprintf(pid, sizeof(pid), "\"pid\":%d,", getpid());
		ASSERT_TRUE(strncmp(resp.body, "{\"daemon\":{", 11) == 0);
		ASSERT_TRUE(strstr(resp.body, pid) != NULL);
		ASSERT_TRUE(strstr(resp.body, "\"version\":\"") != NULL);
		/* No sampler: no rate, no ring buffer. */
		ASSERT_TRUE(strstr(resp.body, "\"hz\":0,") != NULL);
		ASSERT_TRUE(strstr(resp.body, "\"ring_buffer_bytes\":0,") != NULL);
		ASSERT_TRUE(strstr(resp.body, "\"stack_table_limit_bytes\":1048576,") != NULL);
		ASSERT_TRUE(strstr(resp.body, "\"stack_table_stacks\":0,") != NULL);
		ASSERT_TRUE(strstr(resp.body, "\"processes\":0,") != NULL);
		ASSERT_TRUE(strstr(resp.body, "\"sessions\":0,") != NULL);
		/* The list of sessions ends the object, empty. */
		ASSERT_TRUE(strcmp(resp.body + resp.body_size - strlen("},\"sessions\":[]}\n"),
				   "},\"sessions\":[]}\n") == 0);
	}
	if (test__current_failed)
		printf("#   body: %s", resp.body ? resp.body : "(null)\n");
	api_response__release(&resp);

	resp = request(d, "GET", "/v1/sessions", NULL, NULL, NULL, NULL);
	ASSERT_EQ(resp.status, 200);
	ASSERT_STREQ(resp.content_type, CPROF_CONTENT_TYPE_JSON);
	ASSERT_FALSE(resp.has_summary);
	ASSERT_EQ(resp.defer_seconds, 0);
	if (is_json_object_line(&resp))
		ASSERT_STREQ(resp.body, "{\"sessions\":[]}\n");
	api_response__release(&resp);

	/* Query parameters don't matter to a status. */
	resp = request(d, "GET", "/v1/status", "pid", "abc", NULL, NULL);
	ASSERT_EQ(resp.status, 200);
	api_response__release(&resp);
	cprofd__free(d);
}

static void test_pprof_profile(void)
{
	static const char *const bad_seconds[] = { "0",	 "3601", "x",  "",
						   "-1", "030",	 "1s", "99999999999999999999" };
	const char *route = CPROF_ROUTE_PPROF_PROFILE;
	struct cprofd *d = new_daemon();
	char pid[16], missing[16];

	if (!ASSERT_NOT_NULL(d))
		return;
	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(missing, sizeof(missing), "%d", pid_above_max());
	for (size_t i = 0; i < sizeof(bad_seconds) / sizeof(bad_seconds[0]); i++)
		ASSERT_REQUEST_ERROR(d, "GET", route, "pid", pid, "seconds", bad_seconds[i], 400,
				     "bad seconds");
	/* Seconds are checked before the pid. */
	ASSERT_REQUEST_ERROR(d, "GET", route, "seconds", "0", NULL, NULL, 400, "bad seconds");
	/* The limits are valid; the pid is still required and checked. */
	ASSERT_REQUEST_ERROR(d, "GET", route, "seconds", "1", NULL, NULL, 400,
			     "missing parameter: pid");
	ASSERT_REQUEST_ERROR(d, "GET", route, "seconds", "3600", NULL, NULL, 400,
			     "missing parameter: pid");
	ASSERT_REQUEST_ERROR(d, "GET", route, NULL, NULL, NULL, NULL, 400,
			     "missing parameter: pid");
	ASSERT_REQUEST_ERROR(d, "GET", route, "pid", "0", "seconds", "5", 400, "bad pid");
	ASSERT_REQUEST_ERROR(d, "GET", route, "pid", pid, "hz", "0", 400, "out of range");
	ASSERT_REQUEST_ERROR(d, "GET", route, "pid", missing, "seconds", "5", 404, "no process");
	/* A real process, but no sampler: an error now, not a deferred answer. */
	ASSERT_REQUEST_ERROR(d, "GET", route, "pid", pid, "seconds", "5", 503, "not available");
	ASSERT_REQUEST_ERROR(d, "GET", route, "pid", pid, NULL, NULL, 503, "not available");
	ASSERT_EQ(cprofd__n_sessions(d), 0);
	cprofd__free(d);
}

/* Error messages are JSON strings even when they carry the caller's text. */
static void test_error_is_one_json_line(void)
{
	struct cprofd *d = new_daemon();
	struct api_response resp;

	if (!ASSERT_NOT_NULL(d))
		return;
	resp = request(d, "GET", "/v1/\"quoted\"\n\\path", NULL, NULL, NULL, NULL);
	ASSERT_ERROR(&resp, 404, "no such route");
	api_response__release(&resp);
	resp = request(d, "POST", "/v1/sessions", "pid", "1\"\n", NULL, NULL);
	ASSERT_ERROR(&resp, 400, "bad pid");
	api_response__release(&resp);
	cprofd__free(d);
}

/* A child that sets its ids (when root) and its dumpable flag, then waits. */
static pid_t spawn_child(uid_t uid, gid_t gid, bool dumpable)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		if (getuid() == 0 && (setresgid(gid, gid, gid) || setresuid(uid, uid, uid)))
			_exit(1);
		/* Changing ids made it non-dumpable: say what the test wants. */
		prctl(PR_SET_DUMPABLE, dumpable ? 1 : 0);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	if (pid < 0 || read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		return -1;
	}
	close(ready[0]);
	return pid;
}

static void end_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_access(void)
{
	bool root = getuid() == 0;
	uid_t uid = root ? 65534 : getuid();
	gid_t gid = root ? 65534 : getgid();
	struct access_peer owner = { .uid = uid, .gid = gid };
	struct access_peer stranger = { .uid = uid + 1, .gid = gid };
	struct access_peer other_group = { .uid = uid, .gid = gid + 1 };
	struct cprofd *d = new_daemon();
	struct api_response resp;
	char pid_text[16];
	pid_t child, hidden;

	if (!ASSERT_NOT_NULL(d))
		return;
	child = spawn_child(uid, gid, true);
	hidden = spawn_child(uid, gid, false);
	if (!ASSERT_TRUE(child > 0 && hidden > 0))
		goto out;

	/* Unknown peers and strangers are refused before anything happens. */
	snprintf(pid_text, sizeof(pid_text), "%d", child);
	current_peer = NULL;
	resp = request(d, "POST", "/v1/sessions", "pid", pid_text, NULL, NULL);
	ASSERT_ERROR(&resp, 403, "not yours to profile");
	api_response__release(&resp);
	current_peer = &stranger;
	resp = request(d, "POST", "/v1/sessions", "pid", pid_text, NULL, NULL);
	ASSERT_ERROR(&resp, 403, "not yours to profile");
	api_response__release(&resp);
	current_peer = &other_group;
	resp = request(d, "GET", "/debug/pprof/profile", "pid", pid_text, "seconds", "1");
	ASSERT_ERROR(&resp, 403, "not yours to profile");
	api_response__release(&resp);

	/* The owner gets past the check (then finds no sampler in this test daemon). */
	current_peer = &owner;
	resp = request(d, "POST", "/v1/sessions", "pid", pid_text, NULL, NULL);
	ASSERT_ERROR(&resp, 503, "not available");
	api_response__release(&resp);

	/* A non-dumpable process is not its owner's to profile either. */
	snprintf(pid_text, sizeof(pid_text), "%d", hidden);
	resp = request(d, "POST", "/v1/sessions", "pid", pid_text, NULL, NULL);
	ASSERT_ERROR(&resp, 403, "not yours to profile");
	api_response__release(&resp);

	/* Root may profile anything; a gone process is 404 for everyone. */
	current_peer = &root_peer;
	resp = request(d, "POST", "/v1/sessions", "pid", pid_text, NULL, NULL);
	ASSERT_ERROR(&resp, 503, "not available");
	api_response__release(&resp);
	end_child(hidden);
	hidden = 0;
	current_peer = &owner;
	resp = request(d, "POST", "/v1/sessions", "pid", pid_text, NULL, NULL);
	ASSERT_ERROR(&resp, 404, "no process");
	api_response__release(&resp);
out:
	current_peer = &root_peer;
	if (child > 0)
		end_child(child);
	if (hidden > 0)
		end_child(hidden);
	cprofd__free(d);
}

/* The status parser on /proc texts a live system rarely shows: setuid, bad lines. */
static void test_access_status_lines(void)
{
	static const struct {
		const char *status;
		int want;
	} cases[] = {
		{ "Name:\tx\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n", 0 },
		/* setuid root: effective and saved uid differ from the caller's */
		{ "Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\n", -EPERM },
		/* setgid */
		{ "Name:\tx\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t5\t5\t5\n", -EPERM },
		{ "Name:\tx\nUid:\t1000\t1000\nGid:\t100\t100\t100\t100\n", -EPERM },
		{ "Name:\tx\nGid:\t100\t100\t100\t100\n", -EPERM },
		{ "", -EPERM },
	};
	struct access_peer peer = { .uid = getuid(), .gid = 100 };
	char root[] = "/tmp/cprof-access-XXXXXX", path[256];

	if (!ASSERT_NOT_NULL(mkdtemp(root)))
		return;
	peer.uid = 1000;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/42", root);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/42/status", root);
		f = fopen(path, "w");
		if (!ASSERT_NOT_NULL(f))
			break;
		fputs(cases[i].status, f);
		fclose(f);
		/* The file's owner stands for dumpable: make it the peer's. */
		if (getuid() == 0 && chown(path, 1000, 100))
			TEST_FAIL_AT("chown %s", path);
		if (getuid() != 0)
			peer.uid = getuid();
		if (getuid() == 0 || cases[i].want != 0)
			if (!ASSERT_EQ(access__may_profile(&peer, 42, root), cases[i].want))
				printf("#   case %zu\n", i);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/42", root);
	rmdir(path);
	ASSERT_EQ(access__may_profile(&peer, 42, root), -ESRCH);
	ASSERT_EQ(access__may_profile(NULL, 42, root), -EPERM);
	rmdir(root);
}

int main(void)
{
	RUN_TEST(test_new_without_sampler);
	RUN_TEST(test_start_bad_pid);
	RUN_TEST(test_start_bad_hz);
	RUN_TEST(test_start_missing_process);
	RUN_TEST(test_start_without_sampler);
	RUN_TEST(test_routes_and_methods);
	RUN_TEST(test_stop);
	RUN_TEST(test_status);
	RUN_TEST(test_pprof_profile);
	RUN_TEST(test_error_is_one_json_line);
	RUN_TEST(test_access);
	RUN_TEST(test_access_status_lines);
	return TEST_SUMMARY();
}
