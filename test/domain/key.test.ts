import fc from 'fast-check';
import { classifyKey, classifyKeyText, isHostName, plainHostName } from '../../src/domain/key';

const key = (text: string) => classifyKey(Buffer.from(text, 'utf8'));

describe('key normalisation', () => {
  test.each([
    ['example.com', 'example.com'],
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com'],
    ['user@example.com', 'example.com'],
    ['"odd@user"@Example.org', 'example.org'],
    ['mx-1.example.co.uk', 'mx-1.example.co.uk'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['user@BÜCHER.example', 'xn--bcher-kva.example'],
    ['localhost', 'localhost'],
    ['123.example', '123.example'],
  ])('%s is looked up as %s', (input, domain) => {
    expect(key(input)).toEqual({ kind: 'domain', domain });
  });

  test.each([
    ['', 'empty'],
    ['.', 'parent-walk'],
    ['.example.com', 'parent-walk'],
    ['.com', 'parent-walk'],
    ['*', 'wildcard'],
    ['[192.0.2.1]', 'address-literal'],
    ['[IPv6:2001:db8::1]', 'address-literal'],
    ['user@[192.0.2.1]', 'address-literal'],
    ['192.0.2.1', 'address-literal'],
    ['2001:db8::1', 'address-literal'],
    ['user@', 'invalid-name'],
    ['exa mple.com', 'invalid-name'],
    ['under_score.example', 'invalid-name'],
    ['-lead.example', 'invalid-name'],
    ['trail-.example', 'invalid-name'],
    ['double..dot.example', 'invalid-name'],
    ['example.123', 'invalid-name'],
    [`${'a'.repeat(64)}.example`, 'invalid-name'],
    [`${'a.'.repeat(127)}com`, 'invalid-name'],
    ['ctl\u0001.example', 'invalid-name'],
    ['nul\u0000.example', 'invalid-name'],
    ['a'.repeat(10_000), 'invalid-name'],
  ])('%j is answered at once (%s)', (input, reason) => {
    expect(key(input)).toEqual({ kind: 'skip', reason });
  });

  test('invalid UTF-8 is not a name', () => {
    expect(classifyKey(Buffer.from([0x61, 0xff, 0x2e, 0x63, 0x6f, 0x6d]))).toEqual({ kind: 'skip', reason: 'invalid-name' });
  });

  test('a name of exactly 253 bytes with 63-byte labels is accepted', () => {
    const label = 'a'.repeat(63);
    const name = `${label}.${label}.${label}.${'b'.repeat(61)}`;
    expect(name.length).toBe(253);
    expect(isHostName(name)).toBe(true);
    expect(isHostName(`${name}c`)).toBe(false);
  });

  test('classifyKeyText works on decoded text the same way', () => {
    expect(classifyKeyText('User@Example.Net.')).toEqual({ kind: 'domain', domain: 'example.net' });
  });
});

describe('the hit path reads plain host names from the request bytes', () => {
  const inPayload = (text: string): [Buffer, number, number] => {
    const bytes = Buffer.from(`mailertable ${text}`, 'utf8');
    return [bytes, 12, bytes.length];
  };

  test.each([
    ['example.com', 'example.com'],
    ['example.com.', 'example.com'],
    ['mx-1.example.co.uk', 'mx-1.example.co.uk'],
    ['123.example', '123.example'],
  ])('%s is %s, read in place', (text, domain) => {
    expect(plainHostName(...inPayload(text))).toBe(domain);
  });

  test.each([
    'Example.com',
    'user@example.com',
    '.example.com',
    '.',
    '',
    '192.0.2.1',
    '[192.0.2.1]',
    '2001:db8::1',
    '*',
    'bücher.example',
    'a..b',
    '-a.example',
    'a-.example',
    'example.123',
  ])('%p is left to classifyKey', (text) => {
    expect(plainHostName(...inPayload(text))).toBeUndefined();
  });

  test('a name longer than 253 bytes or a label longer than 63 is left to classifyKey', () => {
    expect(plainHostName(...inPayload(`${'a'.repeat(63)}.example`))).toBe(`${'a'.repeat(63)}.example`);
    expect(plainHostName(...inPayload(`${'a'.repeat(64)}.example`))).toBeUndefined();
    expect(plainHostName(...inPayload(`${'abcdefghi.'.repeat(25)}abc`))).toBe(`${'abcdefghi.'.repeat(25)}abc`);
    expect(plainHostName(...inPayload(`${'abcdefghi.'.repeat(25)}abcd`))).toBeUndefined();
  });

  test('whatever the key, a domain read in place is the domain classifyKey gives', () => {
    const alphabet = fc.constantFrom(...'ab0-.@[]:*A\u00fc '.split(''));
    const keys = fc.oneof(fc.string({ unit: alphabet, maxLength: 40 }), fc.string({ maxLength: 40 }), fc.domain());
    fc.assert(
      fc.property(keys, (text) => {
        const [bytes, start, end] = inPayload(text);
        const fast = plainHostName(bytes, start, end);
        if (fast === undefined) return;
        expect(classifyKey(bytes.subarray(start, end))).toEqual({ kind: 'domain', domain: fast });
      }),
      { numRuns: 5000 },
    );
  });
});
