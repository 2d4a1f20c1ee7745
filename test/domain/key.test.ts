import { classifyKey, classifyKeyText, isHostName } from '../../src/domain/key';

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
