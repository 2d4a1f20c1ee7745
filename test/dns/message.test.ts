/**
 * The DNS wire codec against hostile packets: whoever owns a domain chooses what mx4map reads. Every
 * packet here is built by hand, byte by byte, as an attacker would.
 */
import fc from 'fast-check';
import { Packet } from 'dns2';
import { MAX_KEPT, MalformedResponse, TXT_KEPT, decodeResponse, encodeQuery, matchesQuery } from '../../src/dns/message';
import { header, nameBytes as name, question, rr } from '../support/dns-packets';

const ID = 0x1234;
const expected = { id: ID, name: 'mx.example', type: 1 };
const answer = (records: Buffer[], counts?: [number, number, number, number]) =>
  Buffer.concat([header(ID, counts ?? [1, records.length, 0, 0]), question('mx.example', 1), ...records]);

describe('queries', () => {
  test('one question with recursion desired and an EDNS0 OPT record of 1232 bytes, as a real parser reads it', () => {
    const q = Packet.parse(encodeQuery(7, 'Mail.Example.', 'MX')) as unknown as {
      header: { id: number; rd: number };
      questions: Array<{ name: string; type: number }>;
      additionals: Array<{ type: number; class: number }>;
    };
    expect(q.header).toMatchObject({ id: 7, rd: 1 });
    expect(q.questions).toEqual([expect.objectContaining({ name: 'mail.example', type: 15 })]);
    expect(q.additionals).toEqual([expect.objectContaining({ type: 41, class: 1232 })]);
  });

  test('with dnssec: AD set in the header and DO in the OPT record; without: neither', () => {
    const plain = encodeQuery(7, 'mail.example', 'TLSA');
    const signed = encodeQuery(7, 'mail.example', 'TLSA', true);
    const optFlags = (q: Buffer): number => q.readUInt16BE(q.length - 4);
    expect([plain.readUInt16BE(2) & 0x0020, optFlags(plain)]).toEqual([0, 0]);
    expect([signed.readUInt16BE(2) & 0x0020, optFlags(signed) & 0x8000]).toEqual([0x0020, 0x8000]);
    expect(signed.readUInt16BE(12 + 14)).toBe(52); // QTYPE TLSA after the 14-byte name
  });

  test('the question name is written label by label: empty labels skipped, a root-only name is one zero byte', () => {
    const qname = (q: Buffer): number[] => [...q.subarray(12, q.length - 15)];
    expect(qname(encodeQuery(1, 'a.bc', 'A'))).toEqual([1, 0x61, 2, 0x62, 0x63, 0]);
    expect(qname(encodeQuery(1, '.a..bc.', 'A'))).toEqual([1, 0x61, 2, 0x62, 0x63, 0]);
    expect(qname(encodeQuery(1, '.', 'A'))).toEqual([0]);
    expect(qname(encodeQuery(1, '', 'A'))).toEqual([0]);
  });

  test('whatever the name, the query is byte for byte the one built from its labels', () => {
    // The straightforward construction, as a reference: a buffer per label, concatenated.
    const reference = (id: number, name: string, dnssec: boolean): Buffer => {
      const lower = name.toLowerCase();
      const labels = (lower.endsWith('.') ? lower.slice(0, -1) : lower).split('.').filter(Boolean);
      const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
      const tail = Buffer.alloc(15);
      tail.writeUInt16BE(15, 0);
      tail.writeUInt16BE(1, 2);
      tail.writeUInt16BE(41, 5);
      tail.writeUInt16BE(1232, 7);
      if (dnssec) tail.writeUInt16BE(0x8000, 11);
      const head = Buffer.alloc(12);
      head.writeUInt16BE(id, 0);
      head.writeUInt16BE(dnssec ? 0x0120 : 0x0100, 2);
      head.writeUInt16BE(1, 4);
      head.writeUInt16BE(1, 10);
      return Buffer.concat([head, qname, tail]);
    };
    const names = fc.oneof(fc.domain(), fc.string({ unit: fc.constantFrom(...'aZ0-._\u00e9'.split('')), maxLength: 40 }));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), names, fc.boolean(), (id, name, dnssec) => {
        expect(encodeQuery(id, name, 'MX', dnssec).equals(reference(id, name, dnssec))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('transport-security records', () => {
  test('AD in a response is read as authenticated', () => {
    const withAd = Buffer.concat([header(ID, [1, 0, 0, 0], 0x81a0), question('mx.example', 1)]);
    expect(decodeResponse(withAd).authenticated).toBe(true);
    expect(decodeResponse(answer([])).authenticated).toBe(false);
  });

  test('TLSA: usage, selector and matching type are kept, the association data is not; shorter than 4 bytes is malformed', () => {
    const r = decodeResponse(answer([rr(52, Buffer.concat([Buffer.from([3, 1, 1]), Buffer.alloc(32, 0xab)]))]));
    expect(r.answers).toEqual([{ name: 'mx.example', type: 'TLSA', ttl: 300, usage: 3, selector: 1, matchingType: 1 }]);
    expect(() => decodeResponse(answer([rr(52, Buffer.from([3, 1, 1]))]))).toThrow(MalformedResponse);
  });

  test('TXT: character-strings joined, at most TXT_KEPT characters; a string running past its record is malformed', () => {
    const strings = Buffer.concat([Buffer.from([8]), Buffer.from('v=STSv1;'), Buffer.from([10]), Buffer.from(' id=20261'), Buffer.from('1')]);
    expect(decodeResponse(answer([rr(16, strings)])).answers).toEqual([{ name: 'mx.example', type: 'TXT', ttl: 300, text: 'v=STSv1; id=202611' }]);
    const long = Buffer.concat(Array.from({ length: 4 }, () => Buffer.concat([Buffer.from([255]), Buffer.alloc(255, 0x61)])));
    const kept = decodeResponse(answer([rr(16, long)])).answers[0];
    expect(kept.type === 'TXT' && kept.text.length).toBe(TXT_KEPT);
    expect(() => decodeResponse(answer([rr(16, Buffer.from([5, 0x61]))]))).toThrow('TXT string runs past its record');
  });
});

describe('a reply is matched to its query on the raw bytes, before any decoding', () => {
  test('our ID, QR set, and our question (case-insensitively) match', () => {
    const ok = answer([]);
    expect(matchesQuery(ok, expected)).toBe(true);
    expect(matchesQuery(Buffer.concat([header(ID, [1, 0, 0, 0]), question('MX.Example', 1)]), expected)).toBe(true);
  });

  test("any bytes, any cut of a real reply: matched or not, never a throw (found by npm run fuzz: a reply cut inside its question's type crashed the server)", () => {
    const ok = answer([]);
    expect(matchesQuery(ok.subarray(0, ok.length - 1), expected)).toBe(false);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.nat(ok.length).map((cut) => ok.subarray(0, cut)),
        ),
        (bytes) => {
          expect(typeof matchesQuery(Buffer.from(bytes), expected)).toBe('boolean');
        },
      ),
      { numRuns: 20_000 },
    );
  });

  test.each([
    ['another ID', Buffer.concat([header(ID + 1, [1, 0, 0, 0]), question('mx.example', 1)])],
    ['a query, not a response', Buffer.concat([header(ID, [1, 0, 0, 0], 0x0100), question('mx.example', 1)])],
    ['another name', Buffer.concat([header(ID, [1, 0, 0, 0]), question('mx.example.evil', 1)])],
    ['another type', Buffer.concat([header(ID, [1, 0, 0, 0]), question('mx.example', 28)])],
    ['no question', header(ID, [0, 0, 0, 0])],
    ['a header cut short', Buffer.from([0x12, 0x34, 0x81])],
  ])('%s: ignored', (_name, bytes) => {
    expect(matchesQuery(bytes, expected)).toBe(false);
  });
});

describe('decoding is bounded, and broken data is a malformed response, never a decision', () => {
  test('A, AAAA (canonical text), MX, CNAME and SOA; TTLs with the top bit set read as 0 (RFC 2181)', () => {
    const soa = Buffer.concat([name('ns.example'), name('hostmaster.example'), Buffer.from([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 42])]);
    const mx = Buffer.concat([Buffer.from([0, 10]), name('Mail.Example')]);
    const v6 = Buffer.from('20010db8000000000000000000000001', 'hex');
    const r = decodeResponse(
      Buffer.concat([
        header(ID, [1, 4, 1, 0]),
        question('mx.example', 1),
        rr(1, Buffer.from([192, 0, 2, 1]), 0x80000000),
        rr(28, v6),
        rr(15, mx),
        rr(5, name('real.example')),
        rr(6, soa),
      ]),
    );
    expect(r.answers).toEqual([
      { name: 'mx.example', type: 'A', ttl: 0, address: '192.0.2.1' },
      { name: 'mx.example', type: 'AAAA', ttl: 300, address: '2001:db8::1' },
      { name: 'mx.example', type: 'MX', ttl: 300, exchange: 'mail.example', priority: 10 },
      { name: 'mx.example', type: 'CNAME', ttl: 300, target: 'real.example' },
    ]);
    expect(r.authorities).toEqual([{ name: 'mx.example', type: 'SOA', ttl: 300, minimum: 42 }]);
  });

  test('any label bytes, plain or through a compression pointer: the name read is its labels lowercased and joined, or none when a byte cannot be in a host name', () => {
    // The reference: what the name is, said the simplest way (a label at a time, then joined).
    const HOST_BYTE = /^[a-z0-9\-_*]$/;
    const expectedName = (labels: readonly Uint8Array[]): string | undefined => {
      const text = labels.map((l) =>
        Buffer.from(l)
          .toString('latin1')
          .replace(/[A-Z]/g, (c) => c.toLowerCase()),
      );
      return text.every((t) => [...t].every((c) => HOST_BYTE.test(c))) ? text.join('.') : undefined;
    };
    const labelBytes = (labels: readonly Uint8Array[]): Buffer => Buffer.concat(labels.flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]));
    // Mostly bytes a host name may hold (upper case among them), now and then any byte at all.
    const byte = fc.oneof(
      { weight: 30, arbitrary: fc.constantFrom(...Buffer.from('abyzABYZ0189-_*', 'latin1')) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
    );
    const label = fc
      .oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 63 }))
      .chain((n) => fc.array(byte, { minLength: n, maxLength: n }).map((b) => Uint8Array.from(b)));
    const labels = (max: number) => fc.array(label, { minLength: 1, maxLength: max }).filter((ls) => ls.reduce((n, l) => n + l.length + 1, 0) <= 120);
    fc.assert(
      fc.property(labels(4), labels(4), (questionLabels, prefixLabels) => {
        // The question's name at offset 12; the answer a CNAME from it to `prefix` + a pointer back to it.
        const target = Buffer.concat([labelBytes(prefixLabels), Buffer.from([0xc0, 12])]);
        const packet = Buffer.concat([header(ID, [1, 1, 0, 0]), labelBytes(questionLabels), Buffer.from([0, 0, 5, 0, 1]), rr(5, target)]);
        const asked = expectedName(questionLabels);
        const aliased = expectedName([...prefixLabels, ...questionLabels]);
        let decoded: ReturnType<typeof decodeResponse> | undefined;
        try {
          decoded = decodeResponse(packet);
        } catch (err) {
          // A target that is not a host name is refused outright.
          expect(err).toBeInstanceOf(MalformedResponse);
          expect(aliased).toBeUndefined();
          return;
        }
        expect(decoded.question?.name).toBe(asked ?? '');
        // The record is kept only when its owner is a host name; its target is then the whole name.
        expect(decoded.answers).toEqual(asked === undefined ? [] : [{ name: asked, type: 'CNAME', ttl: 300, target: aliased }]);
      }),
      { numRuns: 2000 },
    );
  });

  test('IPv6 text is canonical (RFC 5952): the longest run of zero groups only', () => {
    const r = decodeResponse(
      answer([
        rr(28, Buffer.from('20010db8000000010000000000000000', 'hex')),
        rr(28, Buffer.from('00000000000000000000000000000001', 'hex')),
        rr(28, Buffer.from('20010db8000100000001000100010001', 'hex')),
      ]),
    );
    expect(r.answers.map((a) => (a.type === 'AAAA' ? a.address : ''))).toEqual(['2001:db8:0:1::', '::1', '2001:db8:1:0:1:1:1:1']);
  });

  test('a header claiming 65,535 records per section in 100 bytes is refused at once', () => {
    const lying = Buffer.concat([header(ID, [1, 65535, 65535, 65535]), question('mx.example', 1), Buffer.alloc(70)]); // 98 bytes
    // The message names the count check, which runs before any record is read.
    expect(() => decodeResponse(lying)).toThrow('header claims 196605 records, more than 98 bytes can hold');
  });

  test.each([
    ['an A record of 0 bytes', rr(1, Buffer.alloc(0)), 'A record of 0 bytes'],
    ['an A record of 1 byte', rr(1, Buffer.from([127])), 'A record of 1 bytes'],
    ['an A record of 8 bytes', rr(1, Buffer.from([127, 128, 129, 130, 131, 132, 133, 134])), 'A record of 8 bytes'],
    ['an AAAA record of 2 bytes', rr(28, Buffer.from([0xbe, 0xef])), 'AAAA record of 2 bytes'],
    ['an AAAA record of 4 bytes', rr(28, Buffer.from([0xbe, 0xef, 0, 1])), 'AAAA record of 4 bytes'],
    ['an MX naming no host', rr(15, Buffer.concat([Buffer.from([0, 10]), name('bad name.example')])), 'MX record names no host'],
    ['a CNAME to a name with a NUL byte', rr(5, name('a\0b.example')), 'CNAME target is not a host name'],
    ['a label longer than 63', rr(5, Buffer.concat([Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0])])), 'label longer than 63 bytes'],
    ['a name longer than 255', rr(5, name(Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.'))), 'name longer than 255 bytes'],
    [
      'record data past the end',
      Buffer.concat([rr(1, Buffer.from([192, 0, 2, 1])).subarray(0, 10), Buffer.from([0, 40, 1, 2])]),
      'record data runs past the end',
    ],
  ])('%s: the response is malformed', (_name, record, problem) => {
    expect(() => decodeResponse(answer([record]))).toThrow(problem);
  });

  test('compression pointers: a loop or a forward pointer is malformed, not an endless walk', () => {
    const loop = Buffer.concat([header(ID, [1, 1, 0, 0]), question('mx.example', 1)]);
    const at = loop.length; // a record whose owner points at itself
    const self = Buffer.alloc(12);
    self.writeUInt16BE(0xc000 | at, 0);
    expect(() => decodeResponse(Buffer.concat([loop, self, Buffer.from([0, 0, 0, 0])]))).toThrow('bad compression pointer');
    const forward = Buffer.alloc(12);
    forward.writeUInt16BE(0xc000 | (at + 4), 0);
    expect(() => decodeResponse(Buffer.concat([loop, forward, Buffer.from([0, 0, 0, 0])]))).toThrow('bad compression pointer');
  });

  test(`a legal answer of 4,000 addresses is walked whole and keeps ${MAX_KEPT}`, () => {
    const records = Array.from({ length: 4000 }, (_, i) => rr(1, Buffer.from([10, 0, i >> 8, i & 255])));
    const r = decodeResponse(answer(records));
    expect(r.answers).toHaveLength(MAX_KEPT);
  });

  test('records of other classes and types are walked past; unusable owner names are skipped, not fatal', () => {
    const chaos = rr(1, Buffer.from([192, 0, 2, 9]));
    chaos.writeUInt16BE(3, 4); // class CH
    const hinfo = rr(13, Buffer.from([3, 0x61, 0x62, 0x63, 0]));
    const odd = Buffer.concat([name('a b.example'), Buffer.from([0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7])]);
    const r = decodeResponse(answer([chaos, hinfo, odd, rr(1, Buffer.from([192, 0, 2, 1]))]));
    expect(r.answers).toEqual([{ name: 'mx.example', type: 'A', ttl: 300, address: '192.0.2.1' }]);
  });

  test('any bytes: a response or MalformedResponse, nothing else, in bounded time', () => {
    const good = answer([rr(1, Buffer.from([192, 0, 2, 1])), rr(5, name('real.example')), rr(15, Buffer.concat([Buffer.from([0, 5]), name('mx2.example')]))]);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc
            .tuple(fc.nat(good.length), fc.uint8Array({ maxLength: 8 }), fc.nat(8))
            .map(([at, insert, cut]) => Buffer.concat([good.subarray(0, at), insert, good.subarray(at + cut)])),
        ),
        (bytes) => {
          try {
            decodeResponse(Buffer.from(bytes));
          } catch (err) {
            expect(err).toBeInstanceOf(MalformedResponse);
          }
        },
      ),
      { numRuns: 20_000 },
    );
  });
});
