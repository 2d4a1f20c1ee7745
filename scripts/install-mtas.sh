#!/usr/bin/env bash
# Installs the real MTAs the end-to-end tests drive: sendmail (sendmail-bin, sendmail-cf, m4) and Postfix.
# sendmail and Postfix conflict as Debian packages, so Postfix is only unpacked (not installed) into
# $POSTFIX_ROOT, where the tests look for it, and the users it runs as are created here. Also the tools the
# tests use around them: ip (iproute2, test addresses on lo), unshare (util-linux), python3 (a stand-in for
# systemd's socket activation), systemd-analyze and systemd-notify (systemd), man (man-db, the package test reads mx4map(8)), redis-server (the shared-cache tests start their own),
# debootstrap and systemd-nspawn with a Debian root for the real-systemd test (scripts/systemd-root.sh), rpm and rpmlint
# (the RPM is built and checked beside the .deb). Needs root (apt-get). Package
# scripts are kept from starting daemons on this machine.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "install-mtas.sh: run as root (it uses apt-get)" >&2; exit 1; fi
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
fi
export DEBIAN_FRONTEND=noninteractive
need=()
command -v m4 >/dev/null || need+=(m4)
[ -x /usr/sbin/sendmail ] && [ -d /usr/share/sendmail/cf ] || need+=(sendmail-bin sendmail-cf)
command -v unshare >/dev/null || need+=(util-linux)
command -v ip >/dev/null || need+=(iproute2)
command -v python3 >/dev/null || need+=(python3)
command -v systemd-analyze >/dev/null && command -v systemd-notify >/dev/null || need+=(systemd)
command -v man >/dev/null || need+=(man-db)
command -v redis-server >/dev/null || need+=(redis-server)
# A real systemd for the package's units (test/e2e/systemd.test.ts): a Debian root booted with systemd-nspawn.
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
# netcat, for the README's and the demo's first command (test/cli/demo.test.ts runs it).
command -v nc >/dev/null || need+=(netcat-openbsd)
# rpmbuild, rpmlint and cpio: `npm run package` builds the RPM beside the .deb (test/e2e/rpm.test.ts checks it).
command -v rpmbuild >/dev/null || need+=(rpm)
command -v rpmlint >/dev/null || need+=(rpmlint)
command -v cpio >/dev/null || need+=(cpio)
# promtool (Prometheus): the alerting rules in contrib/prometheus are checked and unit-tested with it.
command -v promtool >/dev/null || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
POSTFIX_ROOT=/opt/mx4map-test/postfix
if [ ! -x "$POSTFIX_ROOT/usr/sbin/postmap" ]; then
  work=$(mktemp -d)
  (cd "$work" && apt-get download postfix >/dev/null 2>&1 || { apt-get update -qq && apt-get download postfix >/dev/null; })
  mkdir -p "$POSTFIX_ROOT"
  dpkg -x "$work"/postfix_*.deb "$POSTFIX_ROOT"
  rm -rf "$work"
fi
# The users a Postfix master runs its daemons as (the package's postinst would create them).
getent group postfix >/dev/null || groupadd --system postfix
getent passwd postfix >/dev/null || useradd --system --gid postfix --home-dir /nonexistent --shell /usr/sbin/nologin postfix
getent group postdrop >/dev/null || groupadd --system postdrop
bash "$(dirname "$0")/systemd-root.sh"
echo "install-mtas.sh: postfix $(LD_LIBRARY_PATH=$POSTFIX_ROOT/usr/lib/postfix $POSTFIX_ROOT/usr/sbin/postconf -d mail_version 2>/dev/null | sed 's/.*= //') unpacked in $POSTFIX_ROOT"
echo "install-mtas.sh: sendmail $(sendmail -d0.1 -bt </dev/null 2>/dev/null | sed -n 's/^Version //p' | head -1) ready"
