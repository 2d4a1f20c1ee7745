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
