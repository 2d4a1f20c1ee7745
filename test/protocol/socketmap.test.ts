import { encodeReply, parseReply, parseRequest, printable, replyPayload } from '../../src/protocol/socketmap';

describe('socketmap requests', () => {
  test('split at the first space only: keys may hold spaces', () => {
    const r = parseRequest(Buffer.from('mailertable a b c'));
    expect(r?.map).toBe('mailertable');
    expect(r?.key.toString()).toBe('a b c');
  });
  test('an empty key is a request with an empty key', () => {
    expect(parseRequest(Buffer.from('mailertable '))?.key.length).toBe(0);
  });
  test('no space, or nothing before it, is not a request', () => {
    expect(parseRequest(Buffer.from('mailertable'))).toBeUndefined();
    expect(parseRequest(Buffer.from(' example.com'))).toBeUndefined();
  });
});

describe('socketmap replies', () => {
  test('every status encodes as the MTAs expect', () => {
    expect(encodeReply({ status: 'OK', value: 'esmtp:[192.0.2.1]' }).toString()).toBe('20:OK esmtp:[192.0.2.1],');
    expect(encodeReply({ status: 'NOTFOUND' }).toString()).toBe('9:NOTFOUND ,');
    expect(encodeReply({ status: 'TEMP', reason: 'dns' }).toString()).toBe('8:TEMP dns,');
    expect(encodeReply({ status: 'TIMEOUT', reason: 'slow' }).toString()).toBe('12:TIMEOUT slow,');
    expect(encodeReply({ status: 'PERM', reason: 'unknown map x' }).toString()).toBe('18:PERM unknown map x,');
  });
  test('an OK with an empty value is refused (a bare OK crashes sendmail; Postfix rejects an empty one)', () => {
    expect(() => replyPayload({ status: 'OK', value: '' })).toThrow(/non-empty/);
  });
  test('reasons are made printable', () => {
    expect(replyPayload({ status: 'PERM', reason: 'unknown map a\nb\u0000' })).toBe('PERM unknown map a\\x0ab\\x00');
  });
  test('parseReply reads what the MTAs accept and rejects a bare or empty OK', () => {
    expect(parseReply(Buffer.from('OK esmtp:[192.0.2.1]'))).toEqual({ status: 'OK', value: 'esmtp:[192.0.2.1]' });
    expect(parseReply(Buffer.from('NOTFOUND'))).toEqual({ status: 'NOTFOUND' });
    expect(parseReply(Buffer.from('NOTFOUND '))).toEqual({ status: 'NOTFOUND' });
    expect(parseReply(Buffer.from('TEMP busy'))).toEqual({ status: 'TEMP', reason: 'busy' });
    expect(parseReply(Buffer.from('OK'))).toBeUndefined();
    expect(parseReply(Buffer.from('OK '))).toBeUndefined();
    expect(parseReply(Buffer.from('ok x'))).toBeUndefined();
  });
  test('printable bounds its output', () => {
    expect(printable('a'.repeat(500), 10)).toBe('aaaaaaaaaa...');
    expect(printable('ü')).toBe('\\xfc');
    expect(printable('😀')).toBe('\\u{1f600}');
  });
});
