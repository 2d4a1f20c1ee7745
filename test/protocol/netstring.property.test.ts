import fc from 'fast-check';
import { NetstringDecoder, NetstringError, encodeNetstring } from '../../src/protocol/netstring';

const CAP = 64;
/** Frames up to this long are read past and reported as oversized (the server's setting, scaled down). */
const SKIP_UP_TO = 200;

/** Cuts `input` at the given offsets (any order, duplicates allowed): how TCP may deliver it. */
function chunked(input: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of points) {
    chunks.push(input.subarray(from, at));
    from = at;
  }
  chunks.push(input.subarray(from));
  return chunks;
}

interface Outcome {
  frames: string[];
  fault?: string;
}

/** Feeds chunks to a fresh decoder; copies frames at once, as the server does before the chunk is dropped. */
function decode(chunks: Buffer[]): Outcome {
  const decoder = new NetstringDecoder(CAP, { skipUpTo: SKIP_UP_TO });
  const frames: string[] = [];
  try {
    for (const chunk of chunks) decoder.push(chunk, (p, oversized) => void frames.push(oversized ? 'oversized' : p.toString('hex')));
  } catch (err) {
    if (!(err instanceof NetstringError)) throw err;
    return { frames, fault: err.fault };
  }
  return { frames };
}

/** The grammar written the obvious way over the whole input, as an independent model of the decoder. */
function model(input: Buffer): Outcome {
  const frames: string[] = [];
  let i = 0;
  const fault = (f: string): Outcome => ({ frames, fault: f });
  while (i < input.length) {
    if ([0x20, 0x0a, 0x0d, 0x09].includes(input[i])) {
      i++;
      continue;
    }
    let digits = '';
    while (i < input.length && input[i] !== 0x3a) {
      const b = input[i];
      if (b < 0x30 || b > 0x39) return fault('bad-length');
      if (digits === '0') return fault('leading-zero');
      digits += String.fromCharCode(b);
      if (Number(digits) > SKIP_UP_TO) return fault('too-long');
      i++;
    }
    if (i === input.length) return { frames }; // incomplete length: waits for more
    if (digits === '') return fault('bad-length');
    const length = Number(digits);
    const start = i + 1;
    if (input.length < start + length + 1) return { frames }; // incomplete payload or comma
    if (input[start + length] !== 0x2c) return fault('missing-comma');
    frames.push(length > CAP ? 'oversized' : input.subarray(start, start + length).toString('hex'));
    i = start + length + 1;
  }
  return { frames };
}

const payload = fc.uint8Array({ maxLength: CAP }).map((a) => Buffer.from(a));
const oversizedPayload = fc.uint8Array({ minLength: CAP + 1, maxLength: SKIP_UP_TO + 20 }).map((a) => Buffer.from(a));
const separators = fc.constantFrom('', '', '\n', '\r\n', ' ', '\t');
const cuts = fc.array(fc.nat(), { maxLength: 12 });

describe('netstring decoder: properties', () => {
  test('any list of payloads round-trips, however the stream is cut and whatever netcat puts between frames', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(separators, payload), { maxLength: 20 }), cuts, (items, at) => {
        const stream = Buffer.concat(items.flatMap(([sep, p]) => [Buffer.from(sep), encodeNetstring(p)]));
        const out = decode(chunked(stream, at));
        expect(out.fault).toBeUndefined();
        expect(out.frames).toEqual(items.map(([, p]) => p.toString('hex')));
      }),
      { numRuns: 2000 },
    );
  });

  // Arbitrary bytes, and bytes that look almost right (so the fuzzer reaches the payload and comma states).
  const nearNetstring = fc
    .array(
      fc.oneof(
        payload.map(encodeNetstring),
        oversizedPayload.map(encodeNetstring),
        fc.constantFrom('0', '1', '9', ':', ',', '\n', '00', '99999').map((s) => Buffer.from(s)),
        payload,
      ),
      {
        maxLength: 10,
      },
    )
    .map((parts) => Buffer.concat(parts));
  const anyBytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    nearNetstring,
  );

  test('arbitrary bytes end in complete frames and at most one clean protocol error, exactly as the grammar says', () => {
    fc.assert(
      fc.property(anyBytes, cuts, (input, at) => {
        expect(decode(chunked(input, at))).toEqual(model(input));
      }),
      { numRuns: 5000 },
    );
  });

  test('arbitrary bytes never make the decoder allocate a payload buffer past its cap', () => {
    const allocations: number[] = [];
    const spy = jest.spyOn(Buffer, 'allocUnsafe').mockImplementation((size: number) => {
      allocations.push(size);
      return Buffer.alloc(size);
    });
    try {
      fc.assert(
        fc.property(anyBytes, cuts, (input, at) => {
          allocations.length = 0;
          const out = decode(chunked(input, at));
          expect(allocations.every((size) => size <= CAP)).toBe(true);
          for (const frame of out.frames) if (frame !== 'oversized') expect(frame.length / 2).toBeLessThanOrEqual(CAP);
        }),
        { numRuns: 3000 },
      );
    } finally {
      spy.mockRestore();
    }
  });

  test('a dead decoder throws the same protocol error again and delivers nothing more', () => {
    fc.assert(
      fc.property(anyBytes, payload, (input, more) => {
        const decoder = new NetstringDecoder(CAP, { skipUpTo: SKIP_UP_TO });
        let first: unknown;
        try {
          decoder.push(input, () => undefined);
        } catch (err) {
          first = err;
        }
        fc.pre(first !== undefined);
        const after: Buffer[] = [];
        expect(() => decoder.push(encodeNetstring(more), (p) => void after.push(p))).toThrow(first as Error);
        expect(after).toEqual([]);
      }),
      { numRuns: 2000 },
    );
  });

  test('stopping after any frame and feeding the rest later loses and repeats nothing', () => {
    fc.assert(
      fc.property(fc.array(payload, { minLength: 1, maxLength: 15 }), fc.nat(), (items, stopEvery) => {
        const stream = Buffer.concat(items.map(encodeNetstring));
        const decoder = new NetstringDecoder(CAP);
        const frames: string[] = [];
        let rest = stream;
        let guard = 0;
        while (rest.length > 0 && guard++ < 100) {
          const used = decoder.push(rest, (p) => {
            frames.push(p.toString('hex'));
            return frames.length % ((stopEvery % 3) + 1) !== 0;
          });
          rest = rest.subarray(used);
        }
        expect(frames).toEqual(items.map((p) => p.toString('hex')));
      }),
      { numRuns: 1000 },
    );
  });
});
