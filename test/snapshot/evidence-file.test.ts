/**
 * Delivery-log evidence across a restart: the evidence file beside the cache snapshot, its strict reading
 * (a planted row forces nothing it could not force from a log line), and the keeper putting it back.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainSet } from '../../src/domain/domain-set';
import { Engine } from '../../src/engine/engine';
import type { EvidenceRow } from '../../src/engine/evidence';
import { Prober } from '../../src/probe/prober';
import { decodeEvidence, encodeEvidence } from '../../src/snapshot/evidence-format';
import { SnapshotKeeper } from '../../src/snapshot/keeper';
import { TEST_SETTINGS } from '../support/engine-rig';
import { logSink } from '../support/log-sink';
import { dualStackDomain, stubDns } from '../support/stub-dns';

const NOW = 1_800_000_000_000;
const row = (over: Partial<EvidenceRow['evidence']> = {}, key = 'domain:customer.example', expiresAt = NOW + 60_000): EvidenceRow => ({
  key,
  expiresAt,
  evidence: {
    class: 'ptr',
    scope: 'domain',
    signal: 'microsoft-reverse-dns',
    seenAt: NOW - 1000,
    relay: 'mx.customer.example',
    address: '2001:db8::1',
    excerpt: '450 4.7.25 …',
    ...over,
  },
});

test('rows round-trip; expired ones are counted, not kept', () => {
  const text = encodeEvidence([row(), row({}, 'host:mx.customer.example'), row({}, 'domain:old.example', NOW - 1)], NOW);
  const decoded = decodeEvidence(text, NOW);
  expect(decoded.rows.map((r) => r.key)).toEqual(['domain:customer.example', 'host:mx.customer.example']);
  expect(decoded).toMatchObject({ expired: 1, invalid: 0 });
});

test.each([
  ['an unknown class', JSON.stringify(['domain:a.example', NOW + 1, { ...row().evidence, class: 'spam' }])],
  ['a key that is no host name', JSON.stringify(['domain:a..example', NOW + 1, row().evidence])],
  ['a key of another kind', JSON.stringify(['decision:a.example', NOW + 1, row().evidence])],
  ['an address that is none', JSON.stringify(['domain:a.example', NOW + 1, { ...row().evidence, address: '2001:db8::zz' }])],
  ['an over-long excerpt', JSON.stringify(['domain:a.example', NOW + 1, { ...row().evidence, excerpt: 'x'.repeat(161) }])],
  ['a line cut short', '["domain:a.example", 18000000'],
])('a row with %s is dropped and counted; the rest are kept', (_name, bad) => {
  const good = JSON.stringify([row().key, row().expiresAt, row().evidence]);
  const text = `${JSON.stringify({ format: 'mx4map-evidence', version: 1, savedAt: NOW, entries: 2 })}\n${bad}\n${good}\n`;
  expect(decodeEvidence(text, NOW)).toMatchObject({ invalid: 1, rows: [expect.objectContaining({ key: 'domain:customer.example' })] });
});

test('the keeper saves the evidence beside the snapshot and a restarted engine is forced by it again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mx4map-evsnap-'));
  try {
    const path = join(dir, 'cache.snapshot');
    const make = () => {
      const dns = stubDns(dualStackDomain('customer.example', '192.0.2.31', 3600));
      const prober = new Prober({ port: 25, timeoutMs: 100, okTtlMs: 60_000, failTtlMs: 60_000, concurrency: 1, cacheSize: 10 }, () =>
        Promise.reject(new Error('no probe')),
      );
      const engine = new Engine({ ...TEST_SETTINGS, probe: false }, { never: new DomainSet(), force: new DomainSet() }, dns, prober, logSink().log);
      const sink = logSink('info');
      return { engine, sink, keeper: new SnapshotKeeper(path, engine, () => ({ maxTtlMs: 3_600_000, cacheSize: 100, maxEvidence: 100 }), sink.log) };
    };
    const first = make();
    const report = {
      domain: 'customer.example',
      host: 'mx.customer.example',
      address: '2001:db8::1',
      class: 'ptr' as const,
      signal: 'microsoft-reverse-dns',
      excerpt: '450 4.7.25',
    };
    expect(await first.engine.acceptFailure(report)).toBe('new');
    await first.keeper.save();
    expect(readFileSync(`${path}.evidence`, 'utf8').split('\n')[0]).toContain('"entries":2');
    const second = make();
    await second.keeper.load();
    expect(second.sink.events('evidence-loaded')).toEqual([expect.objectContaining({ restored: 2, invalid: 0 })]);
    expect(await second.engine.decide('customer.example')).toMatchObject({ action: 'force-ipv4', triggers: ['ipv6-delivery-failed'] });
    // A corrupt evidence file is ignored, said once, and costs nothing else.
    writeFileSync(`${path}.evidence`, 'garbage\n');
    const third = make();
    await third.keeper.load();
    expect(third.sink.events('evidence-ignored')).toHaveLength(1);
    expect(await third.engine.decide('customer.example')).toEqual({ action: 'leave', reason: 'ipv6-ok' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
