// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "procs/cgroup.h"
#include "util/clock.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Container ids (64 hex) and pod uids, as the runtimes make them. */
#define ID1 "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define ID2 "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
#define ID3 "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"
#define ID_63 "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48b"
#define ID_UPPER "CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB"
#define POD_UID "4ade169f-2a52-43c5-8411-a5fef4b634fb"
#define POD_UID_SYSTEMD "4ade169f_2a52_43c5_8411_a5fef4b634fb"
#define USER_MANAGER "/user.slice/user-1000.slice/user@1000.service"
#define BURSTABLE_SLICE                                                                            \
	"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_UID_SYSTEMD ".slice"

/* The v1 lines of an Ubuntu 20.04 (hybrid) service, all but name=systemd. */
#define HYBRID_CONTROLLERS(p)                                                                      \
	"12:devices:" p "\n11:cpuset:/\n10:hugetlb:/\n9:blkio:" p "\n8:memory:" p "\n7:pids:" p    \
	"\n6:net_cls,net_prio:/\n5:rdma:/\n4:cpu,cpuacct:" p "\n3:freezer:/\n2:perf_event:/\n"

static void test_parse_proc(void)
{
	static const struct {
		const char *name, *text, *want; /* want NULL: expect err */
		int err;
	} cases[] = {
		{ "v2", "0::/system.slice/cprofd.service\n", "/system.slice/cprofd.service", 0 },
		{ "v2 root", "0::/\n", "/", 0 },
		{ "hybrid",
		  HYBRID_CONTROLLERS("/system.slice/ssh.service") "1:name=systemd:/system.slice/"
								  "ssh.service\n0::/system.slice/"
								  "ssh.service\n",
		  "/system.slice/ssh.service", 0 },
		/* An exiting process: the kernel prints its v1 paths as "/". */
		{ "hybrid, exiting",
		  HYBRID_CONTROLLERS("/") "1:name=systemd:/\n0::/system.slice/ssh.service\n",
		  "/system.slice/ssh.service", 0 },
		/* v1 (legacy) with a 4.5+ kernel: the unmounted v2 hierarchy says "/". */
		{ "v1 with systemd",
		  "4:memory:/system.slice/a.service\n1:name=systemd:/system.slice/"
		  "a.service\n0::/\n",
		  "/system.slice/a.service", 0 },
		{ "v1, old kernel", "2:cpu,cpuacct:/x\n1:name=systemd:/system.slice/a.service\n",
		  "/system.slice/a.service", 0 },
		{ "v1 kernel threads", "2:cpu:/\n1:name=systemd:/\n0::/\n", "/", 0 },
		/* What this kind of machine (v1 controllers, a name=systemd, no systemd) shows. */
		{ "container host",
		  "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/3903dc\n0::/\n", "/", 0 },
		/* A v2 host that mounted a name=systemd hierarchy for an old container's systemd. */
		{ "v2 with named v1",
		  "1:name=systemd:/docker/" ID1 "\n0::/system.slice/docker-" ID1 ".scope\n",
		  "/system.slice/docker-" ID1 ".scope", 0 },
		{ "v1 without systemd", "4:memory:/foo\n3:cpu:/foo\n", NULL, -ENOENT },
		{ "v1 without systemd, v2 line", "4:memory:/foo\n3:cpu:/foo\n0::/\n", "/", 0 },
		{ "other named hierarchy", "2:name=openrc:/sshd\n1:cpu:/\n", NULL, -ENOENT },
		{ "empty", "", NULL, -ENOENT },
		{ "no trailing newline", "0::/init.scope", "/init.scope", 0 },
		{ "deleted", "0::/system.slice/gone.service (deleted)\n",
		  "/system.slice/gone.service", 0 },
		{ "cgroup namespace", "0::/../../system.slice/x.service\n",
		  "/../../system.slice/x.service", 0 },
		{ "colons and spaces in a name", "0::/user.slice/a:b c\n", "/user.slice/a:b c", 0 },
		/* The kernel's text or nothing. */
		{ "empty line", "\n", NULL, -EINVAL },
		{ "garbage", "hello world", NULL, -EINVAL },
		{ "binary", "\x01\x02\x03\xff", NULL, -EINVAL },
		{ "two fields", "0:/\n", NULL, -EINVAL },
		{ "no path", "0::\n", NULL, -EINVAL },
		{ "relative path", "0::system.slice\n", NULL, -EINVAL },
		{ "not a number", "x::/\n", NULL, -EINVAL },
		{ "negative", "-1::/\n", NULL, -EINVAL },
		{ "leading zero", "01:cpu:/\n0::/\n", NULL, -EINVAL },
		{ "too big", "99999999999:cpu:/\n", NULL, -EINVAL },
		{ "blank line inside", "1:cpu:/\n\n0::/\n", NULL, -EINVAL },
		{ "blank line after", "0::/\n\n", NULL, -EINVAL },
		{ "v1 without controllers", "1::/\n", NULL, -EINVAL },
		{ "v2 with controllers", "0:cpu:/\n", NULL, -EINVAL },
		{ "empty controller", "1:cpu,,memory:/\n", NULL, -EINVAL },
		{ "trailing comma", "1:cpu,:/\n", NULL, -EINVAL },
		{ "empty name=", "1:name=:/\n", NULL, -EINVAL },
		{ "space in controller", "1:cp u:/\n", NULL, -EINVAL },
		{ "increasing ids", "1:cpu:/\n2:memory:/\n0::/\n", NULL, -EINVAL },
		/* A cgroup name holding a newline makes up lines; they are refused. */
		{ "faked v2 line", "0::/user.slice/x\n0::/system.slice/sshd.service\n", NULL,
		  -EINVAL },
		{ "line after v2", "0::/user.slice/x\n1:name=systemd:/system.slice/sshd.service\n",
		  NULL, -EINVAL },
		{ "second systemd",
		  "5:name=systemd:/user.slice/x\n3:name=systemd:/system.slice/"
		  "sshd.service\n0::/\n",
		  NULL, -EINVAL },
	};
	char path[256];

	for (size_t i = 0; i < N(cases); i++) {
		int err;

		strcpy(path, "untouched");
		err = cgroup__parse_proc(cases[i].text, strlen(cases[i].text), path, sizeof(path));
		if (cases[i].want) {
			if (!ASSERT_OK(err) || !ASSERT_STREQ(path, cases[i].want))
				printf("#   case: %s\n", cases[i].name);
		} else if (!ASSERT_EQ(err, cases[i].err) || !ASSERT_STREQ(path, "untouched")) {
			printf("#   case: %s\n", cases[i].name);
		}
	}
	/* A NUL inside the text, which strlen() above would not see. */
	ASSERT_EQ(cgroup__parse_proc("0::/a\0b\n", 8, path, sizeof(path)), -EINVAL);
	/* len, not the NUL, ends the text. */
	ASSERT_OK(cgroup__parse_proc("0::/abc\n", 6, path, sizeof(path)));
	ASSERT_STREQ(path, "/ab");
}

static void test_parse_proc_lengths(void)
{
	char text[8192], path[4096], small[8];
	size_t n;

	/* A path that just fits, one byte over, and longer than the buffer. */
	n = (size_t)snprintf(text, sizeof(text), "0::/%0*d\n", (int)sizeof(path) - 2, 0);
	ASSERT_OK(cgroup__parse_proc(text, n, path, sizeof(path)));
	ASSERT_EQ(strlen(path), sizeof(path) - 1);
	n = (size_t)snprintf(text, sizeof(text), "0::/%0*d\n", (int)sizeof(path) - 1, 0);
	strcpy(path, "untouched");
	ASSERT_EQ(cgroup__parse_proc(text, n, path, sizeof(path)), -ENAMETOOLONG);
	ASSERT_STREQ(path, "untouched");
	n = (size_t)snprintf(text, sizeof(text), "0::/%0*d\n", 6000, 0);
	ASSERT_EQ(cgroup__parse_proc(text, n, path, sizeof(path)), -ENAMETOOLONG);
	ASSERT_EQ(cgroup__parse_proc("0::/\n", 5, small, 0), -ENAMETOOLONG);
	ASSERT_EQ(cgroup__parse_proc("0::/abcdefg\n", 12, small, sizeof(small)), -ENAMETOOLONG);
	ASSERT_OK(cgroup__parse_proc("0::/abcdef\n", 11, small, sizeof(small)));
	ASSERT_STREQ(small, "/abcdef");
	ASSERT_EQ(cgroup__parse_proc(NULL, 0, small, sizeof(small)), -ENOENT);
}

/* The v2 ("0::") path of this process, straight from the file, or "" if none. */
static void own_v2_path(char *path, size_t size)
{
	char text[16384], *line;
	FILE *f = fopen("/proc/self/cgroup", "r");
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;

	if (f)
		fclose(f);
	text[n] = '\0';
	path[0] = '\0';
	line = strncmp(text, "0::", 3) == 0 ? text : strstr(text, "\n0::");
	if (!line)
		return;
	line += line == text ? 3 : 4;
	snprintf(path, size, "%.*s", (int)strcspn(line, "\n"), line);
}

static void test_read_pid(void)
{
	char text[16384], path[4096], again[4096];
	FILE *f = fopen("/proc/self/cgroup", "r");
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;

	if (f)
		fclose(f);
	if (!ASSERT_TRUE(n > 0))
		return;
	text[n] = '\0';
	printf("# /proc/self/cgroup:\n");
	for (const char *line = text; line < text + n; line += strcspn(line, "\n") + 1)
		printf("#   %.*s\n", (int)strcspn(line, "\n"), line);
	if (ASSERT_OK(cgroup__read_pid(getpid(), path, sizeof(path))))
		printf("#   parsed: %s\n", path);
	if (ASSERT_OK(cgroup__parse_proc(text, n, again, sizeof(again))))
		ASSERT_STREQ(again, path);
	ASSERT_OK(cgroup__read_pid(1, again, sizeof(again)));
	ASSERT_EQ(cgroup__read_pid(0x7ffffff0, path, sizeof(path)), -ESRCH);
	ASSERT_EQ(cgroup__read_pid(0, path, sizeof(path)), -EINVAL);
	/* Even "/" needs two bytes. */
	ASSERT_EQ(cgroup__read_pid(getpid(), path, 1), -ENAMETOOLONG);
}

static void test_container_id(void)
{
	static const struct {
		const char *path, *want; /* want NULL: -ENOENT */
	} cases[] = {
		/* Docker: cgroupfs driver (v1 and v2), systemd driver, rootless, nested. */
		{ "/docker/" ID1, ID1 },
		{ "/system.slice/docker-" ID1 ".scope", ID1 },
		{ "/system.slice/docker-" ID1 ".scope/init.scope", ID1 },
		{ USER_MANAGER "/user.slice/docker-" ID1 ".scope", ID1 },
		{ "/docker/" ID1 "/docker/" ID2, ID2 },
		/* containerd under Kubernetes: systemd driver (QoS classes), cgroupfs driver. */
		{ BURSTABLE_SLICE "/cri-containerd-" ID1 ".scope", ID1 },
		{ "/kubepods.slice/kubepods-pod" POD_UID_SYSTEMD ".slice/cri-containerd-" ID1
		  ".scope",
		  ID1 },
		{ "/kubepods/burstable/pod" POD_UID "/" ID1, ID1 },
		{ "/kubepods/besteffort/pod" POD_UID "/" ID1, ID1 },
		{ "/kubepods/pod" POD_UID "/" ID1, ID1 },
		/* Static pods' uids are a hash. */
		{ "/kubepods/burstable/pod2f1d3c4b5a69788796a5b4c3d2e1f0a9/" ID1, ID1 },
		/* Docker as the Kubernetes runtime; kind (nodes are Docker containers). */
		{ BURSTABLE_SLICE "/docker-" ID1 ".scope", ID1 },
		{ "/system.slice/docker-" ID1 ".scope/kubelet.slice/kubelet-kubepods.slice/"
		  "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" POD_UID_SYSTEMD
		  ".slice/cri-containerd-" ID2 ".scope",
		  ID2 },
		{ "/docker/" ID1 "/kubepods/besteffort/pod" POD_UID "/" ID2, ID2 },
		/* Podman: rootful systemd (crun's inner cgroup, pods), cgroupfs, rootless. */
		{ "/machine.slice/libpod-" ID1 ".scope", ID1 },
		{ "/machine.slice/libpod-" ID1 ".scope/container", ID1 },
		{ "/machine.slice/machine-libpod_pod_" ID3 ".slice/libpod-" ID1 ".scope", ID1 },
		{ "/libpod_parent/libpod-" ID1, ID1 },
		{ USER_MANAGER "/user.slice/libpod-" ID1 ".scope", ID1 },
		{ USER_MANAGER "/user.slice/libpod-" ID1 ".scope/container", ID1 },
		/* CRI-O: systemd driver (with crun), cgroupfs driver. */
		{ BURSTABLE_SLICE "/crio-" ID1 ".scope", ID1 },
		{ BURSTABLE_SLICE "/crio-" ID1 ".scope/container", ID1 },
		{ "/kubepods/besteffort/pod" POD_UID "/crio-" ID1, ID1 },
		/* No container: the monitors, near misses and other names. */
		{ "/", NULL },
		{ "", NULL },
		{ "/system.slice/cprofd.service", NULL },
		{ "/machine.slice/libpod-conmon-" ID1 ".scope", NULL },
		{ BURSTABLE_SLICE "/crio-conmon-" ID1 ".scope", NULL },
		{ "/system.slice/docker.service", NULL },
		{ "/system.slice/docker.socket", NULL },
		{ "/system.slice/docker-compose@web.service", NULL },
		{ "/system.slice/mydocker-" ID1 ".scope", NULL },
		{ "/system.slice/docker-" ID1 ".service", NULL },
		{ "/system.slice/docker-" ID1 ".scope.scope", NULL },
		{ "/system.slice/docker-" ID1 "x.scope", NULL },
		{ "/docker/" ID_63, NULL },
		{ "/docker/" ID1 "0", NULL },
		{ "/docker/" ID_UPPER, NULL },
		{ "/system.slice/docker-" ID_UPPER ".scope", NULL },
		{ "/system.slice/docker-" ID_63 ".scope", NULL },
		{ "/docker", NULL },
		{ "/docker/abc", NULL },
		/* A bare id only where a runtime puts one. */
		{ "/" ID1, NULL },
		{ "/user.slice/" ID1, NULL },
		{ "/kubepods/burstable/" ID1, NULL },
		{ "/foo/pod" POD_UID "/" ID1, NULL },
		{ "/kubepods/pod" POD_UID "/x/" ID1, NULL },
		/* The innermost match wins even when something else follows it. */
		{ "/docker/" ID1 "/sub/" ID_63, ID1 },
	};
	char id[CGROUP_CONTAINER_ID_LEN + 1];

	for (size_t i = 0; i < N(cases); i++) {
		int err;

		strcpy(id, "untouched");
		err = cgroup__container_id(cases[i].path, id, sizeof(id));
		if (cases[i].want) {
			if (!ASSERT_OK(err) || !ASSERT_STREQ(id, cases[i].want))
				printf("#   path: %s\n", cases[i].path);
		} else if (!ASSERT_EQ(err, -ENOENT) || !ASSERT_STREQ(id, "untouched")) {
			printf("#   path: %s\n", cases[i].path);
		}
	}
	strcpy(id, "untouched");
	ASSERT_EQ(cgroup__container_id("/docker/" ID1, id, CGROUP_CONTAINER_ID_LEN), -ENAMETOOLONG);
	ASSERT_STREQ(id, "untouched");
	ASSERT_EQ(cgroup__container_id("/docker/" ID1, id, 0), -ENAMETOOLONG);
}

static void test_systemd_unit(void)
{
	static const struct {
		const char *path, *unit, *user_unit; /* NULL: -ENOENT */
	} cases[] = {
		{ "/system.slice/cprofd.service", "cprofd.service", NULL },
		{ USER_MANAGER "/app.slice/x.scope", "user@1000.service", "x.scope" },
		{ "/system.slice/docker-" ID1 ".scope", "docker-" ID1 ".scope", NULL },
		{ "/init.scope", "init.scope", NULL },
		{ "/", NULL, NULL },
		{ "", NULL, NULL },
		{ "/system.slice", NULL, NULL },
		{ "/user.slice/user-1000.slice", NULL, NULL },
		{ "/system.slice/cprofd.service/worker", "cprofd.service", NULL },
		{ "/system.slice/getty@tty1.service", "getty@tty1.service", NULL },
		{ "/system.slice/system-getty.slice/getty@tty1.service", "getty@tty1.service",
		  NULL },
		{ "/system.slice/sys-fs-fuse-connections.mount", "sys-fs-fuse-connections.mount",
		  NULL },
		{ "/system.slice/dbus.socket", "dbus.socket", NULL },
		{ "/-.slice/x.swap", "x.swap", NULL },
		{ "/user.slice/user-1000.slice/session-2.scope", "session-2.scope", NULL },
		{ USER_MANAGER, "user@1000.service", NULL },
		{ USER_MANAGER "/init.scope", "user@1000.service", "init.scope" },
		{ USER_MANAGER "/app.slice", "user@1000.service", NULL },
		{ USER_MANAGER "/user.slice/libpod-" ID1 ".scope", "user@1000.service",
		  "libpod-" ID1 ".scope" },
		{ USER_MANAGER "/app.slice/app-gnome-firefox-4242.scope/sub", "user@1000.service",
		  "app-gnome-firefox-4242.scope" },
		{ USER_MANAGER "/session.slice/pipewire.service", "user@1000.service",
		  "pipewire.service" },
		{ "/user.slice/user@0.service/a.timer", "user@0.service", "a.timer" },
		{ BURSTABLE_SLICE "/cri-containerd-" ID1 ".scope", "cri-containerd-" ID1 ".scope",
		  NULL },
		/* systemd escapes names that would clash with the kernel's: "_cpu.service". */
		{ "/system.slice/_cpu.service", "cpu.service", NULL },
		/* Not a unit: the first component past the slices decides. */
		{ "/docker/" ID1, NULL, NULL },
		{ "/kubepods/burstable/pod" POD_UID "/" ID1, NULL, NULL },
		{ "/foo/bar.service", NULL, NULL },
		{ "/system.slice/getty@.service", NULL, NULL },
		{ "/system.slice/@x.service", NULL, NULL },
		{ "/system.slice/x.slic", NULL, NULL },
		{ "/system.slice/x.", NULL, NULL },
		{ "/system.slice/.service", NULL, NULL },
		{ "/system.slice/a b.service", NULL, NULL },
		{ "/system.slice/a@b.slice", NULL, NULL },
		{ "/system.slice/x.device/y.service", "x.device", NULL },
		{ "/system.slice/x.automount", "x.automount", NULL },
		{ "/system.slice/x.path", "x.path", NULL },
		{ "/system.slice/x.target", "x.target", NULL },
		{ "/system.slice/x.socket", "x.socket", NULL },
		/* user@UID.service only with a UID systemd would parse. */
		{ "/user.slice/user@abc.service/x.scope", "user@abc.service", NULL },
		{ "/user.slice/user@65535.service/x.scope", "user@65535.service", NULL },
		{ "/user.slice/user@4294967295.service/x.scope", "user@4294967295.service", NULL },
		{ "/user.slice/user@99999999999.service/x.scope", "user@99999999999.service",
		  NULL },
		{ "/user.slice/user@4294967294.service/x.scope", "user@4294967294.service",
		  "x.scope" },
	};
	char unit[CGROUP_UNIT_NAME_MAX];

	for (size_t i = 0; i < N(cases); i++) {
		int err;

		strcpy(unit, "untouched");
		err = cgroup__systemd_unit(cases[i].path, unit, sizeof(unit));
		if (cases[i].unit ? !ASSERT_OK(err) || !ASSERT_STREQ(unit, cases[i].unit)
				  : !ASSERT_EQ(err, -ENOENT) || !ASSERT_STREQ(unit, "untouched"))
			printf("#   unit of %s\n", cases[i].path);
		strcpy(unit, "untouched");
		err = cgroup__systemd_user_unit(cases[i].path, unit, sizeof(unit));
		if (cases[i].user_unit
			    ? !ASSERT_OK(err) || !ASSERT_STREQ(unit, cases[i].user_unit)
			    : !ASSERT_EQ(err, -ENOENT) || !ASSERT_STREQ(unit, "untouched"))
			printf("#   user unit of %s\n", cases[i].path);
	}
}

static void test_systemd_unit_lengths(void)
{
	char path[600], unit[CGROUP_UNIT_NAME_MAX], small[15];

	/* systemd's UNIT_NAME_MAX: 255 characters are a name, 256 are not. */
	snprintf(path, sizeof(path), "/system.slice/%0*d.service", 255 - 8, 0);
	ASSERT_OK(cgroup__systemd_unit(path, unit, sizeof(unit)));
	ASSERT_EQ(strlen(unit), 255);
	snprintf(path, sizeof(path), "/system.slice/%0*d.service", 256 - 8, 0);
	ASSERT_EQ(cgroup__systemd_unit(path, unit, sizeof(unit)), -ENOENT);
	/* "cprofd.service" and its NUL are 15 bytes. */
	ASSERT_OK(cgroup__systemd_unit("/system.slice/cprofd.service", small, 15));
	strcpy(small, "untouched");
	ASSERT_EQ(cgroup__systemd_unit("/system.slice/cprofd.service", small, 14), -ENAMETOOLONG);
	ASSERT_STREQ(small, "untouched");
	ASSERT_EQ(cgroup__systemd_user_unit(USER_MANAGER "/app.slice/abcdefghijklmnop.scope", small,
					    sizeof(small)),
		  -ENAMETOOLONG);
	ASSERT_STREQ(small, "untouched");
}

/* ---- cgroup_names against a tree of plain directories ---- */

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void remove_tree(const char *dir)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdir of root/rel; returns its inode number (its cgroup id on cgroup2), 0 on failure. */
static uint64_t make_dir(const char *root, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (!ASSERT_OK(mkdir(path, 0755) ? -errno : 0) || !ASSERT_OK(stat(path, &st) ? -errno : 0))
		return 0;
	return st.st_ino;
}

static uint64_t ino_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static void make_file(const char *root, const char *rel)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (ASSERT_TRUE(fd >= 0))
		close(fd);
}

static bool make_temp(char *dir, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, size, "%s/cprof-cgroup-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	return ASSERT_NOT_NULL(mkdtemp(dir));
}

static void assert_lookup(struct cgroup_names *c, uint64_t id, const char *want)
{
	char path[PATH_MAX];

	if (!ASSERT_OK(cgroup_names__lookup(c, id, path, sizeof(path))) ||
	    !ASSERT_STREQ(path, want))
		printf("#   id %" PRIu64 ", want %s\n", id, want);
}

static void test_names_lookup(void)
{
	char dir[256], outside[256], link[PATH_MAX], path[64];
	uint64_t a, abc, d, out;
	struct cgroup_names *c;

	if (!make_temp(dir, sizeof(dir)) || !make_temp(outside, sizeof(outside)))
		return;
	a = make_dir(dir, "a");
	make_dir(dir, "a/b");
	abc = make_dir(dir, "a/b/c");
	d = make_dir(dir, "d");
	out = make_dir(outside, "o");
	/* Files (cgroup.procs, memory.max) are not cgroups. */
	make_file(dir, "cgroup.procs");
	make_file(dir, "a/cgroup.procs");
	/* Symlinks are not followed, in or out of the tree. */
	snprintf(link, sizeof(link), "%s/to_a", dir);
	ASSERT_OK(symlink("a", link));
	snprintf(link, sizeof(link), "%s/a/to_outside", dir);
	ASSERT_OK(symlink(outside, link));

	c = cgroup_names__new(dir, 0);
	if (!ASSERT_NOT_NULL(c))
		goto out;
	/* Nothing is read before the first lookup. */
	ASSERT_EQ(cgroup_names__walks(c), 0);
	ASSERT_EQ(cgroup_names__entries(c), 0);
	assert_lookup(c, ino_of(dir), "/");
	ASSERT_EQ(cgroup_names__walks(c), 1);
	ASSERT_EQ(cgroup_names__entries(c), 5);
	assert_lookup(c, abc, "/a/b/c");
	assert_lookup(c, a, "/a");
	assert_lookup(c, d, "/d");
	ASSERT_EQ(cgroup_names__lookup(c, out, path, sizeof(path)), -ENOENT);
	ASSERT_EQ(cgroup_names__lookup(c, ino_of(outside), path, sizeof(path)), -ENOENT);
	/* Hits never walk; the misses came within the default second of the first walk. */
	ASSERT_EQ(cgroup_names__walks(c), 1);
	/* "/a/b/c" and its NUL need 7 bytes. */
	strcpy(path, "untouched");
	ASSERT_EQ(cgroup_names__lookup(c, abc, path, 6), -ENAMETOOLONG);
	ASSERT_STREQ(path, "untouched");
	ASSERT_OK(cgroup_names__lookup(c, abc, path, 7));
	ASSERT_STREQ(path, "/a/b/c");
	ASSERT_EQ(cgroup_names__lookup(c, ino_of(dir), path, 1), -ENAMETOOLONG);
	ASSERT_EQ(cgroup_names__walks(c), 1);
	cgroup_names__free(c);
out:
	cgroup_names__free(NULL);
	remove_tree(dir);
	remove_tree(outside);
}

static void test_names_new(void)
{
	char dir[256], file[PATH_MAX];

	if (!make_temp(dir, sizeof(dir)))
		return;
	errno = 0;
	ASSERT_TRUE(!cgroup_names__new(dir, CGROUP_NAMES_MAX_ENTRIES + 1) && errno == EINVAL);
	snprintf(file, sizeof(file), "%s/nonexistent", dir);
	errno = 0;
	ASSERT_TRUE(!cgroup_names__new(file, 0) && errno == ENOENT);
	make_file(dir, "file");
	snprintf(file, sizeof(file), "%s/file", dir);
	errno = 0;
	ASSERT_TRUE(!cgroup_names__new(file, 0) && errno == ENOTDIR);
	remove_tree(dir);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void test_names_rescan(void)
{
	const uint64_t interval = 300 * 1000000ull;
	char dir[256], path[PATH_MAX];
	struct cgroup_names *c;
	uint64_t start, e, walks;
	int err;

	if (!make_temp(dir, sizeof(dir)))
		return;
	make_dir(dir, "a");
	c = cgroup_names__new(dir, 0);
	if (!ASSERT_NOT_NULL(c))
		goto out;
	cgroup_names__set_rescan_interval(c, interval);
	start = monotonic_ns();
	assert_lookup(c, ino_of(dir), "/");
	ASSERT_EQ(cgroup_names__walks(c), 1);

	/*
	 * A cgroup made after the walk: unknown until the interval has passed,
	 * and a flood of unknown ids costs no walk within it. (Checked only if
	 * this machine was quick enough to stay within the interval.)
	 */
	e = make_dir(dir, "a/e");
	err = cgroup_names__lookup(c, e, path, sizeof(path));
	for (uint64_t id = 1000000; id < 1010000; id++)
		cgroup_names__lookup(c, id, path, sizeof(path));
	if (monotonic_ns() - start < interval) {
		ASSERT_EQ(err, -ENOENT);
		ASSERT_EQ(cgroup_names__walks(c), 1);
	} else {
		printf("# the first lookups took over %" PRIu64 " ns: not checked\n", interval);
	}
	sleep_ns(interval);
	assert_lookup(c, e, "/a/e");
	ASSERT_EQ(cgroup_names__walks(c), 2);
	ASSERT_EQ(cgroup_names__entries(c), 3);

	/* At most one walk per interval, however many misses. */
	cgroup_names__set_rescan_interval(c, 20 * 1000000ull);
	start = monotonic_ns();
	walks = cgroup_names__walks(c);
	while (monotonic_ns() - start < 100 * 1000000ull)
		cgroup_names__lookup(c, 4242424242ull, path, sizeof(path));
	ASSERT_GE(cgroup_names__walks(c) - walks, 1);
	ASSERT_TRUE(cgroup_names__walks(c) - walks <= 6);

	/*
	 * A removed cgroup is still known (its samples may come late) until
	 * a miss walks again: a walk's result replaces the last one's. With
	 * no limit, every miss walks.
	 */
	cgroup_names__set_rescan_interval(c, 0);
	walks = cgroup_names__walks(c);
	snprintf(path, sizeof(path), "%s/a/e", dir);
	ASSERT_OK(rmdir(path));
	assert_lookup(c, e, "/a/e");
	ASSERT_EQ(cgroup_names__walks(c), walks);
	ASSERT_EQ(cgroup_names__lookup(c, 4242424242ull, path, sizeof(path)), -ENOENT);
	ASSERT_EQ(cgroup_names__walks(c), walks + 1);
	ASSERT_EQ(cgroup_names__entries(c), 2);
	ASSERT_EQ(cgroup_names__lookup(c, e, path, sizeof(path)), -ENOENT);
	ASSERT_EQ(cgroup_names__walks(c), walks + 2);
	cgroup_names__free(c);
out:
	remove_tree(dir);
}

static void test_names_bounds(void)
{
	char dir[256], rel[PATH_MAX], path[PATH_MAX], want[PATH_MAX];
	uint64_t ids[10], chain[CGROUP_NAMES_MAX_DEPTH + 2];
	struct cgroup_names *c;
	int found = 0;

	if (!make_temp(dir, sizeof(dir)))
		return;
	for (int i = 0; i < 10; i++) {
		snprintf(rel, sizeof(rel), "dir%d", i);
		ids[i] = make_dir(dir, rel);
	}
	/* max_entries counts the root too. */
	c = cgroup_names__new(dir, 4);
	if (ASSERT_NOT_NULL(c)) {
		assert_lookup(c, ino_of(dir), "/");
		ASSERT_EQ(cgroup_names__entries(c), 4);
		for (int i = 0; i < 10; i++)
			found += cgroup_names__lookup(c, ids[i], path, sizeof(path)) == 0;
		ASSERT_EQ(found, 3);
		cgroup_names__free(c);
	}
	remove_tree(dir);

	/* Depth: the root is 0; directories down to CGROUP_NAMES_MAX_DEPTH are known. */
	if (!make_temp(dir, sizeof(dir)))
		return;
	rel[0] = '\0';
	for (int depth = 1; depth <= CGROUP_NAMES_MAX_DEPTH + 1; depth++) {
		strcat(rel, depth == 1 ? "x" : "/x");
		chain[depth] = make_dir(dir, rel);
	}
	c = cgroup_names__new(dir, 0);
	if (ASSERT_NOT_NULL(c)) {
		snprintf(want, sizeof(want), "/%s", rel);
		want[strlen(want) - 2] = '\0'; /* the path at depth MAX_DEPTH */
		assert_lookup(c, chain[CGROUP_NAMES_MAX_DEPTH], want);
		ASSERT_EQ(cgroup_names__lookup(c, chain[CGROUP_NAMES_MAX_DEPTH + 1], path,
					       sizeof(path)),
			  -ENOENT);
		ASSERT_EQ(cgroup_names__entries(c), CGROUP_NAMES_MAX_DEPTH + 1);
		cgroup_names__free(c);
	}
	remove_tree(dir);
}

/* Cgroups that come and go while walks run: each is skipped or found, never an error. */
static void test_names_churn(void)
{
	char dir[256], path[PATH_MAX];
	struct cgroup_names *c;
	uint64_t stable, start;
	int status;
	pid_t child;

	if (!make_temp(dir, sizeof(dir)))
		return;
	make_dir(dir, "churn");
	make_dir(dir, "zz");
	stable = make_dir(dir, "zz/stable");
	child = fork();
	if (child == 0) {
		for (unsigned int i = 0;; i = (i + 1) % 64) {
			snprintf(path, sizeof(path), "%s/churn/c%u", dir, i);
			if (mkdir(path, 0755) == 0) {
				strcat(path, "/sub");
				mkdir(path, 0755);
			} else {
				rmdir(strcat(path, "/sub"));
				*strrchr(path, '/') = '\0';
				rmdir(path);
			}
		}
	}
	if (!ASSERT_TRUE(child > 0))
		goto out;
	c = cgroup_names__new(dir, 0);
	if (ASSERT_NOT_NULL(c)) {
		cgroup_names__set_rescan_interval(c, 0);
		start = monotonic_ns();
		while (monotonic_ns() - start < 200 * 1000000ull) {
			ASSERT_EQ(cgroup_names__lookup(c, 4242424242ull, path, sizeof(path)),
				  -ENOENT);
			assert_lookup(c, stable, "/zz/stable");
		}
		printf("# %" PRIu64 " walks while cgroups came and went\n", cgroup_names__walks(c));
		cgroup_names__free(c);
	}
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
out:
	remove_tree(dir);
}

/* The cgroup2 mount, as cgroup_names__new(NULL) looks for it, or NULL. */
static const char *cgroup2_mount(void)
{
	static const char *const where[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	struct statfs fs;

	for (size_t i = 0; i < N(where); i++)
		if (statfs(where[i], &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
			return where[i];
	return NULL;
}

static void test_names_real(void)
{
	char own[PATH_MAX], dir[PATH_MAX], path[PATH_MAX];
	const char *mount = cgroup2_mount();
	struct cgroup_names *c;
	struct stat st;

	if (!mount) {
		errno = 0;
		ASSERT_TRUE(!cgroup_names__new(NULL, 0) && errno == ENODEV);
		TEST_SKIP("no cgroup2 file system at /sys/fs/cgroup or /sys/fs/cgroup/unified");
	}
	own_v2_path(own, sizeof(own));
	if (own[0] != '/')
		TEST_SKIP("/proc/self/cgroup has no 0:: line");
	if (strncmp(own, "/..", 3) == 0)
		TEST_SKIP("in a cgroup namespace below %s's root: %s", mount, own);
	snprintf(dir, sizeof(dir), "%s%s", mount, strcmp(own, "/") ? own : "");
	if (!ASSERT_OK(stat(dir, &st) ? -errno : 0))
		return;
	printf("# %s is cgroup2; this process is in %s, id %" PRIu64 "\n", mount, own,
	       (uint64_t)st.st_ino);
	c = cgroup_names__new(NULL, 0);
	if (!ASSERT_NOT_NULL(c))
		return;
	if (ASSERT_OK(cgroup_names__lookup(c, st.st_ino, path, sizeof(path))))
		ASSERT_STREQ(path, own);
	/* The root cgroup's id. */
	if (ASSERT_OK(stat(mount, &st) ? -errno : 0) &&
	    ASSERT_OK(cgroup_names__lookup(c, st.st_ino, path, sizeof(path))))
		ASSERT_STREQ(path, "/");
	printf("# %zu cgroups in %" PRIu64 " walk(s)\n", cgroup_names__entries(c),
	       cgroup_names__walks(c));
	cgroup_names__free(c);
}

int main(void)
{
	RUN_TEST(test_parse_proc);
	RUN_TEST(test_parse_proc_lengths);
	RUN_TEST(test_read_pid);
	RUN_TEST(test_container_id);
	RUN_TEST(test_systemd_unit);
	RUN_TEST(test_systemd_unit_lengths);
	RUN_TEST(test_names_new);
	RUN_TEST(test_names_lookup);
	RUN_TEST(test_names_rescan);
	RUN_TEST(test_names_bounds);
	RUN_TEST(test_names_churn);
	RUN_TEST(test_names_real);
	return TEST_SUMMARY();
}
