import fc from 'fast-check';
import { classifyKey, isHostName } from '../../src/domain/key';
import { NetstringDecoder } from '../../src/protocol/netstring';
import { encodeReply, parseReply, parseRequest, printable, type Reply } from '../../src/protocol/socketmap';

function unwrap(encoded: Buffer): Buffer {
  let payload: Buffer | undefined;
  new NetstringDecoder(1 << 20).push(encoded, (p) => void (payload = Buffer.from(p)));
  if (!payload) throw new Error('no frame');
  return payload;
}

const mapName = fc.stringMatching(/^[A-Za-z0-9_.-]{1,30}$/);
const keyBytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));

describe('socketmap layer: properties', () => {
  test('any map name and any key bytes survive request encoding and parsing unchanged', () => {
    fc.assert(
      fc.property(mapName, keyBytes, (map, key) => {
        const payload = Buffer.concat([Buffer.from(`${map} `), key]);
        const request = parseRequest(payload);
        expect(request?.map).toBe(map);
        expect(request?.key.equals(key)).toBe(true);
      }),
    );
  });

  test('every reply the server can build is one well-formed netstring that parses back to itself', () => {
    const reply: fc.Arbitrary<Reply> = fc.oneof(
      fc.string({ minLength: 1, unit: 'grapheme-ascii' }).map((value) => ({ status: 'OK' as const, value })),
      fc.constant({ status: 'NOTFOUND' as const }),
      fc
        .tuple(fc.constantFrom('TEMP' as const, 'TIMEOUT' as const, 'PERM' as const), fc.string({ unit: 'binary' }))
        .map(([status, reason]) => ({ status, reason })),
    );
    fc.assert(
      fc.property(reply, (r) => {
        const parsed = parseReply(unwrap(encodeReply(r)));
        if (r.status === 'OK' || r.status === 'NOTFOUND') expect(parsed).toEqual(r);
        else expect(parsed).toEqual({ status: r.status, reason: printable(r.reason) });
      }),
      { numRuns: 2000 },
    );
  });

  test('printable output is printable ASCII and bounded, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 1000 }), fc.integer({ min: 1, max: 300 }), (text, max) => {
        const out = printable(text, max);
        expect(out).toMatch(/^[\x20-\x7e]*$/);
        expect(out.length).toBeLessThanOrEqual(max + 3);
      }),
      { numRuns: 2000 },
    );
  });

  test('any key bytes classify without throwing, and only to a valid ASCII host name or a skip', () => {
    const hostish = fc.stringMatching(/^[a-zA-Z0-9.\-@*[\]:\u00fc\u0000\n]{0,80}$/).map((s) => Buffer.from(s));
    fc.assert(
      fc.property(fc.oneof(keyBytes, hostish), (key) => {
        const k = classifyKey(key);
        if (k.kind === 'domain') {
          expect(isHostName(k.domain)).toBe(true);
          expect(k.domain).toMatch(/^[a-z0-9.-]+$/);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
