/**
 * mx4map-<version>-<release>.<arch>.rpm for Fedora, RHEL and its rebuilds (EL8 and later: the executable needs
 * glibc 2.28), built with rpmbuild from a ready tree, so Debian's `rpm` package can build it: /usr/bin/mx4map,
 * the units in /usr/lib/systemd/system, /etc/mx4map/mx4map.yml as %config(noreplace), mx4map(8), the licence
 * and the documentation.
 *
 * The service runs as a DynamicUser (the unit's choice, shared with the .deb): systemd makes the user and,
 * through RuntimeDirectory= and StateDirectory=, /run/mx4map and /var/lib/mx4map, so the package ships no
 * sysusers.d or tmpfiles.d file — a static account and directories of its own would only outlive the
 * service. The socket unit listens on loopback TCP only: under SELinux's targeted policy sendmail and Postfix
 * may connect to any TCP port, but not to another domain's UNIX socket (README, "Fedora, RHEL and SELinux").
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { VERSION } from '../../src/version.js';
import { OUT, ROOT, bundledModules, place, placeShared } from './executable.js';

const RPM_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64' };

/** The socket unit for SELinux systems: the UNIX listener left out, with the reason where it was. */
export function rpmSocketUnit(debianUnit: string): string {
  return debianUnit.replace(
    /^ListenStream=\/run\/mx4map\/mx4map\.sock$/m,
    [
      '# No UNIX socket by default: under SELinux (targeted policy) sendmail_t and postfix_*_t may connect to',
      '# any TCP port but not to this service\'s UNIX socket, and the MTA would see only "connection refused".',
      '#ListenStream=/run/mx4map/mx4map.sock',
    ].join('\n'),
  );
}

/**
 * Scriptlets: systemd's macros from systemd-rpm-macros when the build host has them (Fedora, EL); else the
 * EL8-era expansions, which every systemd since then still accepts. Both only preset on first install,
 * disable and stop on erase, and restart a running service on upgrade.
 */
const SYSTEMD_MACROS = `%{!?systemd_post:%define systemd_post() if [ $1 -eq 1 ] && [ -x /usr/bin/systemctl ]; then /usr/bin/systemctl --no-reload preset %{?*} >/dev/null 2>&1 || :; fi}
%{!?systemd_preun:%define systemd_preun() if [ $1 -eq 0 ] && [ -x /usr/bin/systemctl ]; then /usr/bin/systemctl --no-reload disable --now %{?*} >/dev/null 2>&1 || :; fi}
%{!?systemd_postun_with_restart:%define systemd_postun_with_restart() if [ $1 -ge 1 ] && [ -x /usr/bin/systemctl ]; then /usr/bin/systemctl try-restart %{?*} >/dev/null 2>&1 || :; fi}`;

function spec(release: number, rpmArch: string, date: Date): string {
  const day = date.toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+).*$/, '$1 $3 $2 $4');
  const provides = [
    `Provides:       bundled(nodejs) = ${process.versions.node}`,
    ...bundledModules().map((m) => `Provides:       bundled(nodejs-${m.name}) = ${m.version}`),
  ];
  return `# The executable is a Node single executable application: its program is a blob postject injected into the
# Node binary, which strip would remove (and no debug sources exist to package).
# rpmlint warnings kept, and why (scripts/package/rpmlint.toml filters what is wrong for this package):
#  unstripped-binary-or-object: not stripped, as above.
#  position-independent-executable-suggested: the binary is Node's own release build, as Node ships it.
#  binary-or-shlib-calls-gethostbyname: Node links it; mx4map resolves with its own DNS client.
#  no-url-tag: the project has no public home page to name.
#  files-duplicate: the Prometheus rules are installed for use (/usr/share/mx4map) and beside the README that
#   links them (/usr/share/doc/mx4map/contrib).
#  no-manual-page-for-binary: mx4map(8) is packaged; rpmlint 2.4 collects man pages' sections where it means
#   their names (FilesCheck's man_base_regex), so it says this of every binary.
%global debug_package %{nil}
%global __strip /bin/true
%global __os_install_post %{nil}
${SYSTEMD_MACROS}

Name:           mx4map
Version:        ${VERSION}
Release:        ${release}%{?dist}
Summary:        Socketmap server routing mail for some domains over IPv4
License:        MIT
Group:          System Environment/Daemons
Packager:       the mx4map developers <mx4map@localhost>
ExclusiveArch:  ${rpmArch}
Requires:       glibc >= 2.28
Recommends:     systemd
${provides.join('\n')}

%description
mx4map answers sendmail mailertable and Postfix transport lookups live: domains
whose delivery over IPv6 fails (a CNAME MX host, MX hosts without working IPv6,
receivers that reject IPv6 senders without reverse DNS) get routes to the IPv4
addresses of their MX hosts, every other domain NOTFOUND. Self-contained: the
executable carries its own Node.js runtime and the npm modules it uses.

%install
cp -a %{mx4map_tree}/. %{buildroot}/

%post
%systemd_post mx4map.service mx4map.socket

%preun
%systemd_preun mx4map.service mx4map.socket

%postun
%systemd_postun_with_restart mx4map.service

%files
%license /usr/share/licenses/mx4map/LICENSE
%doc /usr/share/doc/mx4map
/usr/bin/mx4map
/usr/lib/systemd/system/mx4map.service
/usr/lib/systemd/system/mx4map.socket
/usr/lib/systemd/system/mx4map@.service
%dir /etc/mx4map
%config(noreplace) /etc/mx4map/mx4map.yml
/usr/share/man/man8/mx4map.8.gz
/usr/share/mx4map

%changelog
* ${day} the mx4map developers <mx4map@localhost> - ${VERSION}-${release}
- Built from the project's sources; see /usr/share/doc/mx4map/CHANGELOG.md.
`;
}

/** The .rpm, from the executable; `release` counts builds of one version. Returns its path. */
export function buildRpm(executable: string, release = 1): string {
  const rpmArch = RPM_ARCH[arch()];
  if (!rpmArch) throw new Error(`no RPM architecture known for ${arch()}`);
  const work = join(OUT, `rpm-${release}`);
  rmSync(work, { recursive: true, force: true });
  const tree = join(work, 'tree');
  placeShared(tree, executable, 'usr/lib/systemd/system', rpmSocketUnit);
  place(tree, 'usr/share/licenses/mx4map/LICENSE', readFileSync(join(ROOT, 'LICENSE')));
  const specFile = join(work, 'mx4map.spec');
  writeFileSync(specFile, spec(release, rpmArch, new Date()));
  const built = spawnSync(
    'rpmbuild',
    [
      '-bb',
      '--target',
      rpmArch,
      '--define',
      `_topdir ${join(work, 'rpmbuild')}`,
      '--define',
      `_rpmdir ${OUT}`,
      '--define',
      '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm',
      '--define',
      `mx4map_tree ${tree}`,
      specFile,
    ],
    { encoding: 'utf8' },
  );
  if (built.status !== 0) throw new Error(`rpmbuild failed:\n${built.stdout}${built.stderr}`);
  return join(OUT, `mx4map-${VERSION}-${release}.${rpmArch}.rpm`);
}
