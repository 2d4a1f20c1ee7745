/** The systemd units shipped in cf-snippets/, checked by systemd itself (systemd-analyze verify). */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeRequiring } from '../support/requires';
import { CLI } from '../support/cli';
import { defaults } from '../../src/config/options';

const SNIPPETS = join(__dirname, '..', '..', 'cf-snippets');
const missing = spawnSync('systemd-analyze', ['--version']).status === 0 ? undefined : 'systemd-analyze is not installed (package systemd)';

describeRequiring(missing, 'systemd unit checks')('cf-snippets/mx4map.service and mx4map.socket', () => {
  test('systemd-analyze verify finds nothing wrong (ExecStart and ExecReload pointed at the built CLI)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-units-'));
    const service = readFileSync(join(SNIPPETS, 'mx4map.service'), 'utf8').replace(/^(Exec(?:Start|Reload))=\S+/gm, `$1=${process.execPath} ${CLI}`);
    writeFileSync(join(dir, 'mx4map.service'), service);
    copyFileSync(join(SNIPPETS, 'mx4map.socket'), join(dir, 'mx4map.socket'));
    const r = spawnSync('systemd-analyze', ['verify', join(dir, 'mx4map.socket'), join(dir, 'mx4map.service')], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  test('the socket unit listens where the default configuration does, and the service waits to be ready', () => {
    const socket = readFileSync(join(SNIPPETS, 'mx4map.socket'), 'utf8');
    const service = readFileSync(join(SNIPPETS, 'mx4map.service'), 'utf8');
    const [tcp] = defaults().listen;
    expect(tcp.kind === 'inet' && `${tcp.host}:${tcp.port}`).toBe('127.0.0.1:8425');
    expect(socket).toMatch(/^ListenStream=127\.0\.0\.1:8425$/m);
    expect(socket).toMatch(/^ListenStream=\/run\/mx4map\/mx4map\.sock$/m);
    expect(service).toMatch(/^Type=notify$/m);
    expect(service).toMatch(/^NotifyAccess=all$/m);
  });
});

describeRequiring(missing, 'systemd unit checks')('cf-snippets/mx4map@.service, one instance per MTA instance', () => {
  const template = readFileSync(join(SNIPPETS, 'mx4map@.service'), 'utf8');

  test('systemd-analyze verify finds nothing wrong with an instance of it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-units-'));
    writeFileSync(join(dir, 'mx4map@.service'), template.replace(/^(Exec(?:Start|Reload))=\S+/gm, `$1=${process.execPath} ${CLI}`));
    const r = spawnSync('systemd-analyze', ['verify', join(dir, 'mx4map@a.service')], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  test("is mx4map.service line for line but for the instance's own configuration, names and directories", () => {
    const unit = readFileSync(join(SNIPPETS, 'mx4map.service'), 'utf8');
    const settings = (text: string): string[] => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const differing = (a: string[], b: string[]): string[] => a.filter((l) => !b.includes(l));
    expect(differing(settings(template), settings(unit))).toEqual([
      'Description=mx4map socketmap server, instance %i (live IPv4 routes for sendmail and Postfix)',
      'ExecStart=/usr/bin/mx4map serve --config /etc/mx4map/%i.yml',
      'ExecReload=/usr/bin/mx4map reload --config /etc/mx4map/%i.yml --pid $MAINPID',
      'SyslogIdentifier=mx4map-%i',
      'StateDirectory=mx4map/%i',
      'RuntimeDirectory=mx4map/%i',
    ]);
    expect(differing(settings(unit), settings(template))).toHaveLength(6);
  });
});
