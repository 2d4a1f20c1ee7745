import { type ServeProcess, runCliAsync, startServe } from '../support/cli';
import { startServer, type TestServer } from '../support/server';
import { force } from '../support/deferred-decider';
import { exitCodeFor, showReply } from '../../src/cli/query';

describe('mx4map query against a running server', () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    serve = await startServe(['--listen', 'inet:0@127.0.0.1']);
  });
  afterAll(() => serve.stop());

  test('prints KEY<TAB>REPLY per key; exit 1 when any is NOTFOUND', async () => {
    const r = await runCliAsync(['query', '--connect', `inet:${serve.port}@127.0.0.1`, 'example.com', '.example.com']);
    expect(r.stdout).toBe('example.com\tNOTFOUND\n.example.com\tNOTFOUND\n');
    expect(r.status).toBe(1);
  });

  test('--map selects the map; an unknown one is PERM and exit 2', async () => {
    const ok = await runCliAsync(['query', '--connect', `inet:${serve.port}@127.0.0.1`, '--map', 'transport', 'user@example.com']);
    expect(ok.stdout).toBe('user@example.com\tNOTFOUND\n');
    const bad = await runCliAsync(['query', '--connect', `inet:${serve.port}@127.0.0.1`, '--map', 'virtuser', 'example.com']);
    expect(bad.stdout).toBe('example.com\tPERM unknown map virtuser\n');
    expect(bad.status).toBe(2);
  });

  test('no server there: one clear line and exit 2', async () => {
    const r = await runCliAsync(['query', '--connect', 'inet:1@127.0.0.1', 'example.com']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('mx4map: cannot connect to inet:1@127.0.0.1: connection refused (is mx4map serve running there?)\n');
  });
});

describe('mx4map query exit status for OK answers', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ decider: { decide: (d) => (d === 'forced.example' ? force('192.0.2.1') : { action: 'leave', reason: 'ipv6-ok' }) } });
  });
  afterAll(() => t.close());

  test('exit 0 when every reply is OK', async () => {
    const r = await runCliAsync(['query', '--connect', `inet:${t.port}@127.0.0.1`, 'forced.example']);
    expect(r.stdout).toBe('forced.example\tOK esmtp:[192.0.2.1]\n');
    expect(r.status).toBe(0);
  });

  test('exit 1 when OK and NOTFOUND mix', async () => {
    const r = await runCliAsync(['query', '--connect', `inet:${t.port}@127.0.0.1`, 'forced.example', 'other.example']);
    expect(r.status).toBe(1);
  });
});

test('exit status rules', () => {
  expect(exitCodeFor([{ status: 'OK', value: 'x' }])).toBe(0);
  expect(exitCodeFor([{ status: 'OK', value: 'x' }, { status: 'NOTFOUND' }])).toBe(1);
  expect(exitCodeFor([{ status: 'NOTFOUND' }, { status: 'TEMP', reason: 'r' }])).toBe(2);
  expect(showReply({ status: 'TIMEOUT', reason: 'slow' })).toBe('TIMEOUT slow');
});
