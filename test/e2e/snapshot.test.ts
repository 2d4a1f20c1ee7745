/** The cache snapshot across a real restart of the built `mx4map serve`: no DNS storm, corrupt files survived. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServeRig, startServeRig } from '../support/serve-rig';
import { runCliAsync } from '../support/cli';
import { WireClient, ns } from '../support/wire';

const DOMAINS = ['cname-mx.test', 'no-aaaa.test', 'ipv6-ok.test'];
let rig: ServeRig | undefined;
let client: WireClient | undefined;

afterEach(async () => {
  client?.destroy();
  await rig?.close();
  rig = undefined;
  client = undefined;
});

async function askAll(r: ServeRig): Promise<string[]> {
  client?.destroy();
  client = await WireClient.open({ port: r.serve.port });
  client.send(DOMAINS.map((d) => ns(`mailertable ${d}`)).join(''));
  return client.replyCount(DOMAINS.length);
}

async function stopGracefully(r: ServeRig): Promise<number | null> {
  r.serve.child.kill('SIGTERM');
  return (await r.serve.exited()).code;
}

describe('cache snapshot', () => {
  test('saved at shutdown and restored at start: the restarted server answers the same with no DNS query', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mx4map-snap-')), 'cache.snapshot');
    rig = await startServeRig(['--cache-snapshot', path]);
    const before = await askAll(rig);
    expect(before[0]).toBe('OK esmtp:[192.0.2.10]');
    expect(await stopGracefully(rig)).toBe(0);
    expect(readFileSync(path, 'utf8').split('\n')[0]).toMatch(/"entries":3/);
    await rig.close();

    rig = await startServeRig(['--cache-snapshot', path]);
    expect(rig.serve.lines.find((l) => l.evt === 'snapshot-loaded')).toMatchObject({ restored: 3, expired: 0 });
    expect(await askAll(rig)).toEqual(before);
    expect(rig.dns.queries).toEqual([]);
  });

  test('saved on the timer too, while serving', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mx4map-snap-')), 'cache.snapshot');
    rig = await startServeRig(['--cache-snapshot', path, '--cache-snapshot-interval', '10s', '--log-level', 'debug']);
    await askAll(rig);
    await rig.serve.waitFor('snapshot-saved', 15_000);
    expect(readFileSync(path, 'utf8').split('\n')[0]).toMatch(/"entries":3/);
  }, 30_000);

  test('a truncated snapshot: its broken entries are counted and dropped; the server decides those from DNS', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mx4map-snap-')), 'cache.snapshot');
    writeFileSync(path, '{"format":"mx4map-cache","version":1,"savedAt":0,"entries":5}\n["cname-mx.test",');
    rig = await startServeRig(['--cache-snapshot', path]);
    expect(rig.serve.lines.find((l) => l.evt === 'snapshot-loaded')).toMatchObject({
      restored: 0,
      invalid: 5,
      firstProblem: 'header promises 5 entries, file holds 1 (truncated?)',
    });
    expect((await askAll(rig))[0]).toBe('OK esmtp:[192.0.2.10]');
    expect(rig.dns.queries.length).toBeGreaterThan(0);
  });

  test('a file that is not a snapshot is logged and ignored; the server starts', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mx4map-snap-')), 'cache.snapshot');
    writeFileSync(path, 'hello\n');
    rig = await startServeRig(['--cache-snapshot', path]);
    expect(rig.serve.lines.find((l) => l.evt === 'snapshot-ignored')).toMatchObject({ error: 'line 1: not JSON' });
    expect((await askAll(rig))[0]).toBe('OK esmtp:[192.0.2.10]');
  });

  test('a snapshot directory that does not exist stops the start with one clear message', async () => {
    const r = await runCliAsync(['serve', '--listen', 'inet:0@127.0.0.1', '--cache-snapshot', '/nonexistent-mx4map/cache.snapshot']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim()).toBe('mx4map: cache_snapshot /nonexistent-mx4map/cache.snapshot: the directory /nonexistent-mx4map does not exist');
  });
});
