/**
 * mx4map_<version>_<arch>.deb: /usr/bin/mx4map, the systemd units with ExecStart=/usr/bin/mx4map, the sample
 * configuration as the conffile /etc/mx4map/mx4map.yml, mx4map(8) generated from the option table, the README
 * and cf-snippets under /usr/share/doc/mx4map; then dpkg-deb.
 */
import { execFileSync } from 'node:child_process';
import { arch } from 'node:os';
import { join } from 'node:path';
import { VERSION } from '../../src/version.js';
import { OUT, place, placeShared, run } from './executable.js';

const DEB_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

const COPYRIGHT = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: mx4map
Files: *
Copyright: the mx4map developers
License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
 associated documentation files (the "Software"), to deal in the Software without restriction, including
 without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
 following conditions:
 .
 The above copyright notice and this permission notice shall be included in all copies or substantial
 portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
 LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
 EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
 IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR
 THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`;

/** Maintainer scripts: systemd told about the units; nothing started before the administrator says so. */
const POSTINST = `#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
  # An upgrade: a running service moves to the new executable (its socket unit holds the MTAs' connections).
  if [ "$1" = configure ] && [ -n "$2" ]; then systemctl try-restart mx4map.service >/dev/null 2>&1 || true; fi
fi
exit 0
`;
const PRERM = `#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then systemctl stop mx4map.service mx4map.socket >/dev/null 2>&1 || true; fi
exit 0
`;
const POSTRM = `#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
if [ "$1" = purge ]; then
  # The cache snapshot kept by StateDirectory= (DynamicUser keeps it under /var/lib/private), and the
  # links \`systemctl enable\` made (a removed package keeps them, so a reinstall comes back enabled).
  rm -rf /var/lib/mx4map /var/lib/private/mx4map
  rm -f /etc/systemd/system/*.wants/mx4map.service /etc/systemd/system/*.wants/mx4map.socket
  if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
fi
exit 0
`;

/** The .deb, from the executable; returns its path. */
export function buildDeb(executable: string): string {
  const debArch = DEB_ARCH[arch()];
  if (!debArch) throw new Error(`no Debian architecture known for ${arch()}`);
  const name = `mx4map_${VERSION}_${debArch}`;
  const tree = join(OUT, name);
  placeShared(tree, executable, 'lib/systemd/system');
  place(tree, 'usr/share/doc/mx4map/copyright', COPYRIGHT);
  const installedKb = Math.ceil(Number(execFileSync('du', ['-sk', tree], { encoding: 'utf8' }).split('\t')[0]));
  place(
    tree,
    'DEBIAN/control',
    [
      'Package: mx4map',
      `Version: ${VERSION}`,
      `Architecture: ${debArch}`,
      'Maintainer: the mx4map developers <mx4map@localhost>',
      `Installed-Size: ${installedKb}`,
      'Section: mail',
      'Priority: optional',
      'Depends: libc6 (>= 2.28), libstdc++6 (>= 8), libgcc-s1',
      'Recommends: systemd',
      'Description: socketmap server routing mail for some domains over IPv4',
      ' mx4map answers sendmail mailertable and Postfix transport lookups live: domains whose',
      ' delivery over IPv6 fails (a CNAME MX host, MX hosts without working IPv6) get routes to',
      ' the IPv4 addresses of their MX hosts, every other domain NOTFOUND. Self-contained: the',
      ' executable carries its own Node runtime.',
      '',
    ].join('\n'),
  );
  place(tree, 'DEBIAN/conffiles', '/etc/mx4map/mx4map.yml\n');
  place(tree, 'DEBIAN/postinst', POSTINST, 0o755);
  place(tree, 'DEBIAN/prerm', PRERM, 0o755);
  place(tree, 'DEBIAN/postrm', POSTRM, 0o755);
  const deb = join(OUT, `${name}.deb`);
  run('dpkg-deb', ['--root-owner-group', '-Zxz', '-z6', '--build', tree, deb]);
  return deb;
}
