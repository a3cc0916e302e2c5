#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Boots systemd as PID 1 of a new PID+mount namespace, for test_systemd.sh.
# Run as: unshare --pid --fork --mount --mount-proc --uts boot.sh
#
# Nothing of the host changes: /run and /dev are private (so is systemd's
# private socket), /etc, /usr and /var are copy-on-write overlays (so a
# package installed here, its users and groups exist only here), and the
# boot units that would touch the host are masked; systemd-tmpfiles-setup
# would wipe the shared /tmp.
set -eu
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/cprof-sandbox
mount -t tmpfs -o mode=0700 tmpfs /run/cprof-sandbox
for dir in etc usr var; do
	mkdir -p /run/cprof-sandbox/$dir.upper /run/cprof-sandbox/$dir.work
	mount -t overlay overlay -o lowerdir=/$dir,upperdir=/run/cprof-sandbox/$dir.upper,workdir=/run/cprof-sandbox/$dir.work /$dir
done
hostname cprof-sandbox

# A /dev of its own, as container managers give: nothing here writes to the
# host's /dev, and a damaged host node (a /dev/null turned into a regular
# file, say) cannot break PrivateDevices= of the services in here.
mount -t tmpfs -o mode=0755,nosuid,size=4m tmpfs /dev
for node in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
	IFS=: read -r name major minor <<NODE
$node
NODE
	mknod -m 0666 /dev/$name c "$major" "$minor"
done
mkdir /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
# systemd writes to the console: make it the sandbox's /dev/null.
touch /dev/console
mount --bind /dev/null /dev/console

mkdir -p /run/systemd/system /run/systemd/journald.conf.d
printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\n' >/run/systemd/journald.conf.d/sandbox.conf
cat >/run/systemd/system/sandbox.target <<'UNIT'
[Unit]
Description=cprofd test sandbox
Requires=sysinit.target
After=sysinit.target
UNIT
for unit in systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service \
	systemd-tmpfiles-clean.timer systemd-tmpfiles-clean.service systemd-sysctl.service \
	systemd-modules-load.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
	systemd-random-seed.service systemd-firstboot.service systemd-sysusers.service \
	systemd-timesyncd.service systemd-pstore.service systemd-journal-flush.service \
	systemd-update-utmp.service systemd-machine-id-commit.service systemd-repart.service \
	kmod-static-nodes.service systemd-udevd.service systemd-udevd-control.socket \
	systemd-udevd-kernel.socket systemd-udev-trigger.service systemd-hwdb-update.service \
	ldconfig.service systemd-pcrphase.service systemd-pcrphase-sysinit.service \
	systemd-update-done.service dev-hugepages.mount dev-mqueue.mount sys-kernel-config.mount \
	sys-kernel-debug.mount sys-kernel-tracing.mount sys-fs-fuse-connections.mount \
	systemd-remount-fs.service apt-daily.timer apt-daily-upgrade.timer man-db.timer \
	e2scrub_all.timer fstrim.timer logrotate.timer dpkg-db-backup.timer; do
	ln -sf /dev/null /run/systemd/system/$unit
done
exec env container=cprof-sandbox /lib/systemd/systemd --system --unit=sandbox.target \
	--log-target=journal --show-status=no
