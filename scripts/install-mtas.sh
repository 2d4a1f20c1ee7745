#!/usr/bin/env bash
# Installs the real MTA clients the end-to-end tests talk to: sendmail (sendmail-bin, sendmail-cf, m4).
# Needs root (apt-get). Package scripts are kept from starting daemons on this machine.
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
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "install-mtas.sh: sendmail $(sendmail -d0.1 -bt </dev/null 2>/dev/null | sed -n 's/^Version //p' | head -1) ready"
