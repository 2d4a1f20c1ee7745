/**
 * The .deb's units run by a real systemd (PID 1 in a systemd-nspawn container), exactly as the package
 * installs them: the hardening of mx4map.service in force (seccomp filter, address families, read-only
 * system). Every earlier package test ran the ExecStart line by hand, outside that sandbox, and could not
 * see that the filter killed the process at start. The test's own changes are drop-ins only: the socket's
 * TCP port and the DNS server and ops listener, through the environment.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describeRequiring } from '../support/requires';
import { SystemdContainer, systemdContainerMissing } from '../support/systemd-container';
import { builtPackage } from '../support/built-package';
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { cliZone } from '../support/cli-zone';
import { freePort } from '../support/free-port';
import { WireClient, ns } from '../support/wire';

const DEB_INSIDE = '/root/mx4map.deb';

describeRequiring(systemdContainerMissing(), 'real-systemd tests')('the .deb under a real systemd', () => {
  let box: SystemdContainer;
  let dns: DnsFixture;
  let port = 0;
  let http = 0;

  const ask = async (domain: string): Promise<string> => {
    const client = await WireClient.open({ port });
    try {
      client.send(ns(`mailertable ${domain}`));
      return (await client.replyCount(1))[0];
    } finally {
      client.socket.destroy();
    }
  };
  const askUnix = (domain: string): string => {
    const request = `mailertable ${domain}`;
    return box.must('sh', '-c', `printf '%s' '${Buffer.byteLength(request)}:${request},' | nc -N -U /run/mx4map/mx4map.sock`);
  };
  const show = (unit: string, property: string): string => box.must('systemctl', 'show', '--value', '-p', property, unit).trim();
  const journal = (): string => box.run('journalctl', '--no-pager', '-o', 'cat', '-u', 'mx4map.service').stdout;
  const get = async (path: string): Promise<string> => (await fetch(`http://127.0.0.1:${http}${path}`)).text();
  const dropIn = (unit: string, name: string, text: string): void => {
    mkdirSync(box.path(`/etc/systemd/system/${unit}.d`), { recursive: true });
    writeFileSync(box.path(`/etc/systemd/system/${unit}.d/${name}.conf`), text);
  };

  beforeAll(async () => {
    const deb = await builtPackage();
    dns = await startDnsFixture(cliZone());
    port = await freePort();
    http = await freePort();
    box = await SystemdContainer.boot();
    writeFileSync(box.path(DEB_INSIDE), readFileSync(deb));
    dropIn('mx4map.socket', 'test', `[Socket]\nListenStream=\nListenStream=127.0.0.1:${port}\nListenStream=/run/mx4map/mx4map.sock\n`);
    dropIn('mx4map.service', 'test', `[Service]\nEnvironment=MX4MAP_DNS=${dns.spec} MX4MAP_HTTP=127.0.0.1:${http}\n`);
  }, 300_000);
  afterAll(async () => {
    await box?.shutdown();
    await dns?.close();
  }, 60_000);

  test('dpkg -i, then systemctl enable --now: the socket and the service are active and systemd got READY=1', () => {
    box.must('dpkg', '-i', DEB_INSIDE);
    box.must('systemctl', 'enable', '--now', 'mx4map.socket', 'mx4map.service');
    expect(show('mx4map.socket', 'ActiveState')).toBe('active');
    expect(show('mx4map.service', 'ActiveState')).toBe('active');
    // Type=notify: "active" (not "activating") means the READY=1 from mx4map arrived.
    expect(show('mx4map.service', 'Type')).toBe('notify');
    expect(show('mx4map.service', 'NRestarts')).toBe('0');
    expect(journal()).toContain(' evt=socket-activation');
    expect(journal()).not.toMatch(/internal error|SIGSYS|status=31/);
  });

  test('answers over TCP and over the UNIX socket, from the DNS it was given', async () => {
    expect(await ask('cname-mx.test')).toBe('OK esmtp:[192.0.2.10]');
    expect(await ask('unknown.test')).toBe('NOTFOUND ');
    expect(askUnix('cname-mx.test')).toBe('21:OK esmtp:[192.0.2.10],');
  });

  test('the ops listener works inside the sandbox: /healthz ok, interfaces read', async () => {
    expect(await get('/healthz')).toMatch(/^ok\n/);
    expect(await get('/healthz')).not.toContain('interfaces unreadable');
    expect(await get('/metrics')).toMatch(/^mx4map_host_interfaces_readable 1$/m);
  });

  test('systemctl reload re-reads the configuration in the same process; restart keeps the sockets', async () => {
    const before = show('mx4map.service', 'MainPID');
    box.must('systemctl', 'reload', 'mx4map.service');
    // ExecReload (mx4map reload) returned once the daemon counted the reload: it is logged already.
    expect(journal()).toContain(' evt=reloaded');
    expect(show('mx4map.service', 'MainPID')).toBe(before);
    expect(await ask('cname-mx.test')).toBe('OK esmtp:[192.0.2.10]');
    box.must('systemctl', 'restart', 'mx4map.service');
    expect(show('mx4map.service', 'ActiveState')).toBe('active');
    expect(show('mx4map.service', 'MainPID')).not.toBe(before);
    expect(await ask('cname-mx.test')).toBe('OK esmtp:[192.0.2.10]');
    expect(askUnix('cname-mx.test')).toBe('21:OK esmtp:[192.0.2.10],');
  });

  test('systemctl reload of a broken configuration fails with the reason; the service keeps serving the old one', async () => {
    const config = box.path('/etc/mx4map/mx4map.yml');
    const kept = readFileSync(config, 'utf8');
    const pid = show('mx4map.service', 'MainPID');
    try {
      writeFileSync(config, kept.replace(/^never: \[\]/m, 'never: [/etc/mx4map/missing.list]'));
      const r = box.run('systemctl', 'reload', 'mx4map.service');
      expect(r.status).not.toBe(0);
      expect(box.run('journalctl', '--no-pager', '-o', 'cat', '-u', 'mx4map.service').stdout).toMatch(
        /mx4map: never file \/etc\/mx4map\/missing\.list does not exist; not reloaded, the running configuration is kept/,
      );
      expect(show('mx4map.service', 'ActiveState')).toBe('active');
      expect(show('mx4map.service', 'MainPID')).toBe(pid);
      expect(await ask('cname-mx.test')).toBe('OK esmtp:[192.0.2.10]');
    } finally {
      writeFileSync(config, kept);
    }
    box.must('systemctl', 'reload', 'mx4map.service');
  });

  test("its lines reach syslog's mail facility as mx4map, each with its priority, in text", () => {
    const entries = box
      .must('journalctl', '--no-pager', '-o', 'json', '-u', 'mx4map.service', `_PID=${show('mx4map.service', 'MainPID')}`)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, string>);
    const listening = entries.find((e) => e.MESSAGE?.includes(' evt=listening'));
    expect(listening).toMatchObject({ SYSLOG_FACILITY: '2', SYSLOG_IDENTIFIER: 'mx4map', PRIORITY: '6' });
    expect(listening?.MESSAGE).toMatch(/^info: mx4map \S+ listening on /);
    const reloaded = entries.find((e) => e.MESSAGE?.includes(' evt=reloaded'));
    expect(reloaded).toMatchObject({ SYSLOG_FACILITY: '2', PRIORITY: '6' });
  });

  test('a sandbox that forbids netlink (no interface addresses): a warning, /healthz and /metrics say so, lookups answered', async () => {
    dropIn('mx4map.service', 'no-netlink', '[Service]\nRestrictAddressFamilies=\nRestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n');
    box.must('systemctl', 'daemon-reload');
    box.must('systemctl', 'restart', 'mx4map.service');
    try {
      expect(show('mx4map.service', 'ActiveState')).toBe('active');
      expect(await ask('cname-mx.test')).toBe('OK esmtp:[192.0.2.10]');
      const warned = journal()
        .split('\n')
        .filter((l) => l.includes(' evt=interfaces-unreadable'));
      expect(warned.length).toBeGreaterThanOrEqual(1);
      expect(warned[warned.length - 1]).toContain('netlink sockets are not allowed here');
      expect(await get('/healthz')).toMatch(/^ok\ninterfaces unreadable: .*netlink/);
      expect(await get('/metrics')).toMatch(/^mx4map_host_interfaces_readable 0$/m);
    } finally {
      box.must('rm', '/etc/systemd/system/mx4map.service.d/no-netlink.conf');
      box.must('systemctl', 'daemon-reload');
      box.must('systemctl', 'restart', 'mx4map.service');
    }
  });

  test('systemd-analyze security rates the installed unit OK (exposure at most 2.0)', () => {
    const report = box.must('systemd-analyze', 'security', '--no-pager', 'mx4map.service');
    const level = Number(/Overall exposure level for mx4map\.service: ([\d.]+)/.exec(report)?.[1]);
    expect(level).toBeLessThanOrEqual(2.0);
  });

  test('systemctl stop is clean: inactive, result success, "stopped" logged', () => {
    box.must('systemctl', 'stop', 'mx4map.service');
    expect(show('mx4map.service', 'ActiveState')).toBe('inactive');
    expect(show('mx4map.service', 'Result')).toBe('success');
    expect(journal()).toContain(' evt=stopped');
    // STOPPING=1 reaches systemd without a complaint (a "systemd-notify failed" warning was once seen at a stop).
    expect(journal()).not.toContain('evt=notify-failed');
    box.must('systemctl', 'start', 'mx4map.service');
    expect(show('mx4map.service', 'ActiveState')).toBe('active');
  });

  test('dpkg -r stops both units; dpkg --purge leaves no unit, link or configuration behind', () => {
    box.must('dpkg', '-r', 'mx4map');
    for (const unit of ['mx4map.service', 'mx4map.socket']) expect(box.run('systemctl', 'is-active', unit).stdout.trim()).toBe('inactive');
    box.must('dpkg', '--purge', 'mx4map');
    expect(box.run('sh', '-c', 'ls /etc/systemd/system/*.wants/ | grep mx4map').stdout).toBe('');
    expect(box.run('test', '-e', '/etc/mx4map').status).not.toBe(0);
    box.must('systemctl', 'daemon-reload');
    expect(box.must('systemctl', 'list-units', '--all', '--plain', '--no-legend', 'mx4map*')).toBe('');
  });
});
