import { NetstringDecoder, NetstringError, encodeNetstring } from '../../src/protocol/netstring';

/** Every way one input can arrive: whole, byte by byte, and split in two at every boundary. */
function deliveries(input: Buffer): Array<{ label: string; chunks: Buffer[] }> {
  const out = [{ label: 'whole', chunks: [input] }];
  out.push({ label: 'byte by byte', chunks: [...input].map((b) => Buffer.from([b])) });
  for (let i = 1; i < input.length; i++) out.push({ label: `split at ${i}`, chunks: [input.subarray(0, i), input.subarray(i)] });
  return out;
}

function decodeAll(chunks: Buffer[], max = 10_000): { frames: string[]; error?: NetstringError } {
  const decoder = new NetstringDecoder(max);
  const frames: string[] = [];
  try {
    for (const chunk of chunks) decoder.push(chunk, (p) => void frames.push(p.toString('latin1')));
  } catch (err) {
    if (err instanceof NetstringError) return { frames, error: err };
    throw err;
  }
  return { frames };
}

describe('netstring decoder: well-formed input', () => {
  const cases: Array<[string, string, string[]]> = [
    ['one request', '23:mailertable example.com,', ['mailertable example.com']],
    ['two requests in one read', '3:abc,3:def,', ['abc', 'def']],
    ['empty payload', '0:,', ['']],
    ['payload holding a comma and a colon', '5:a,b:c,', ['a,b:c']],
    ['CR, LF and spaces between netstrings (netcat)', '3:abc,\r\n 3:def,\n', ['abc', 'def']],
    ['leading newline before the first netstring', '\n\n1:x,', ['x']],
  ];
  for (const [name, input, expected] of cases) {
    for (const { label, chunks } of deliveries(Buffer.from(input, 'latin1'))) {
      test(`${name} (${label})`, () => {
        const { frames, error } = decodeAll(chunks);
        expect(error).toBeUndefined();
        expect(frames).toEqual(expected);
      });
    }
  }

  test('lengths count bytes, not characters', () => {
    const payload = 'mailertable bücher.example';
    const encoded = encodeNetstring(payload);
    expect(encoded.toString('utf8')).toBe(`27:${payload},`);
    const decoder = new NetstringDecoder(100);
    const got: string[] = [];
    decoder.push(encoded, (p) => void got.push(p.toString('utf8')));
    expect(got).toEqual([payload]);
  });

  test('a frame one byte under the cap and one exactly at it are accepted', () => {
    const at = `10:${'a'.repeat(10)},`;
    expect(decodeAll([Buffer.from(at)], 10).frames).toEqual(['a'.repeat(10)]);
  });

  test('midFrame is true only while a frame is partly received', () => {
    const decoder = new NetstringDecoder(100);
    expect(decoder.midFrame).toBe(false);
    decoder.push(Buffer.from('\r\n'), () => undefined);
    expect(decoder.midFrame).toBe(false);
    decoder.push(Buffer.from('3:a'), () => undefined);
    expect(decoder.midFrame).toBe(true);
    decoder.push(Buffer.from('bc,'), () => undefined);
    expect(decoder.midFrame).toBe(false);
    expect(decoder.frames).toBe(1);
  });

  test('onFrame returning false stops after that frame and reports the bytes used', () => {
    const decoder = new NetstringDecoder(100);
    const input = Buffer.from('1:a,1:b,1:c,');
    const got: string[] = [];
    const used = decoder.push(input, (p) => {
      got.push(p.toString());
      return got.length < 2;
    });
    expect(got).toEqual(['a', 'b']);
    expect(used).toBe(8);
    decoder.push(input.subarray(used), (p) => void got.push(p.toString()));
    expect(got).toEqual(['a', 'b', 'c']);
  });

  test('a payload that arrived in pieces is a copy, not a view of a reused chunk', () => {
    const decoder = new NetstringDecoder(100);
    const chunk = Buffer.from('5:he');
    let frame: Buffer | undefined;
    decoder.push(chunk, () => undefined);
    decoder.push(Buffer.from('llo,'), (p) => void (frame = p));
    chunk.fill(0x41);
    expect(frame?.toString()).toBe('hello');
  });
});

describe('netstring decoder: malformed input', () => {
  const cases: Array<[string, string, string, string[]]> = [
    ['non-digit length', 'ab:hello,', 'bad-length', []],
    ['negative length', '-1:abc,', 'bad-length', []],
    ['empty length', ':abc,', 'bad-length', []],
    ['leading zero', '003:abc,', 'leading-zero', []],
    ['missing comma', '3:abcX3:def,', 'missing-comma', []],
    ['length one short (the comma lands in the payload)', '2:abc,', 'missing-comma', []],
    ['over the cap', '10001:x,', 'too-long', []],
    ['good request before a bad one', '3:abc,3:abcd,', 'missing-comma', ['abc']],
    ['space inside the length', '2 5:abc,', 'bad-length', []],
  ];
  for (const [name, input, fault, before] of cases) {
    for (const { label, chunks } of deliveries(Buffer.from(input, 'latin1'))) {
      test(`${name} → ${fault} (${label})`, () => {
        const { frames, error } = decodeAll(chunks);
        expect(error?.fault).toBe(fault);
        expect(frames).toEqual(before);
      });
    }
  }

  test('the cap is enforced while the digits arrive, before any payload is buffered', () => {
    const decoder = new NetstringDecoder(10_000);
    decoder.push(Buffer.from('1000'), () => undefined);
    expect(() => decoder.push(Buffer.from('1'), () => undefined)).toThrow(/exceeds the limit of 10000 bytes/);
  });

  test('an absurd length fails at the first digit past the cap, not after 10^11 bytes', () => {
    const decoder = new NetstringDecoder(10_000);
    let error: unknown;
    let consumed = 0;
    for (const byte of Buffer.from('99999999999:')) {
      try {
        decoder.push(Buffer.from([byte]), () => undefined);
        consumed++;
      } catch (err) {
        error = err;
        break;
      }
    }
    expect((error as NetstringError).fault).toBe('too-long');
    expect(consumed).toBe(4);
  });

  test('with skipUpTo, a frame over the cap is read past without storing it and delivered as oversized', () => {
    for (const { label, chunks } of deliveries(Buffer.from(`3:abc,20:${'x'.repeat(20)},3:def,`))) {
      const decoder = new NetstringDecoder(10, { skipUpTo: 100 });
      const frames: Array<[string, boolean]> = [];
      for (const chunk of chunks) decoder.push(chunk, (p, oversized) => void frames.push([p.toString(), oversized]));
      expect({ label, frames }).toEqual({
        label,
        frames: [
          ['abc', false],
          ['', true],
          ['def', false],
        ],
      });
    }
  });

  test('with skipUpTo, the hard limit and the comma after a skipped frame are still enforced', () => {
    expect(() => new NetstringDecoder(10, { skipUpTo: 100 }).push(Buffer.from('101:'), () => undefined)).toThrow(/exceeds the limit of 100 bytes/);
    expect(() => new NetstringDecoder(10, { skipUpTo: 100 }).push(Buffer.from(`20:${'x'.repeat(20)}X`), () => undefined)).toThrow(/not followed by ','/);
  });

  test('a failed decoder stays failed', () => {
    const decoder = new NetstringDecoder(100);
    expect(() => decoder.push(Buffer.from('x'), () => undefined)).toThrow(NetstringError);
    expect(() => decoder.push(Buffer.from('1:a,'), () => undefined)).toThrow(NetstringError);
  });
});

describe('encodeNetstring', () => {
  test('round-trips through the decoder, whole and byte by byte', () => {
    const payloads = ['', 'OK esmtp:[192.0.2.1]', 'NOTFOUND ', 'x'.repeat(999), 'ünïcødé'];
    const stream = Buffer.concat(payloads.map((p) => encodeNetstring(p)));
    for (const { chunks } of [deliveries(stream)[0], deliveries(stream)[1]]) {
      const decoder = new NetstringDecoder(10_000);
      const got: string[] = [];
      for (const c of chunks) decoder.push(c, (p) => void got.push(p.toString('utf8')));
      expect(got).toEqual(payloads);
    }
  });
});
