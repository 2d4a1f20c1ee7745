#!/usr/bin/env bash
# Builds the minimal Debian 12 root that test/e2e/systemd.test.ts boots with systemd-nspawn, so the .deb's
# units are tried under a real systemd as PID 1: debootstrap's minbase with systemd, dbus, procps (ps and
# kill for whoever debugs in it) and netcat (the test's UNIX-socket client). Built once into
# $MX4MAP_SYSTEMD_ROOT (default /var/cache/mx4map-test/systemd-root); the test boots throw-away copies of it.
# Needs root.
set -euo pipefail
ROOT_DIR=${MX4MAP_SYSTEMD_ROOT:-/var/cache/mx4map-test/systemd-root}
# Checked by real files: the root's /usr/bin/nc is an absolute link into its own /etc/alternatives.
if [ -x "$ROOT_DIR/usr/lib/systemd/systemd" ] && [ -x "$ROOT_DIR/usr/bin/nc.openbsd" ] && [ -x "$ROOT_DIR/usr/bin/kill" ]; then exit 0; fi
# The Debian mirror this machine's apt uses.
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || { echo "systemd-root.sh: no Debian mirror found in apt's sources" >&2; exit 1; }
work="$ROOT_DIR.partial"
rm -rf "$work"
mkdir -p "$(dirname "$ROOT_DIR")"
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,procps,netcat-openbsd bookworm "$work" "$mirror" >"$work.log" 2>&1 ||
  { echo "systemd-root.sh: debootstrap failed; its log: $work.log" >&2; tail -5 "$work.log" >&2; exit 1; }
rm -f "$work.log"
rm -rf "$ROOT_DIR"
mv "$work" "$ROOT_DIR"
echo "systemd-root.sh: systemd root ready in $ROOT_DIR"
