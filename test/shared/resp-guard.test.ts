import fc from 'fast-check';
import { RESP_LIMITS, RespGuard } from '../../src/shared/resp-guard';

const feed = (bytes: string, split = Infinity): string | undefined => {
  const guard = new RespGuard();
  const buffer = Buffer.from(bytes, 'latin1');
  let broken: string | undefined;
  for (let i = 0; i < buffer.length && !broken; i += split === Infinity ? buffer.length : split)
    broken = guard.push(buffer.subarray(i, i + (split === Infinity ? buffer.length : split)));
  return broken;
};

describe('RespGuard', () => {
  test.each([
    ['+OK\r\n'],
    ['-ERR wrong\r\n'],
    [':42\r\n'],
    ['$-1\r\n'],
    ['$5\r\nhello\r\n'],
    ['$0\r\n\r\n'],
    ['*-1\r\n'],
    ['*0\r\n'],
    ['*2\r\n$3\r\nGET\r\n:1\r\n'],
    ['*2\r\n*1\r\n+a\r\n$2\r\nok\r\n'],
  ])('passes what Redis sends: %j', (reply) => {
    expect(feed(reply)).toBeUndefined();
    expect(feed(reply.repeat(1000))).toBeUndefined();
    expect(feed(reply.repeat(50), 1)).toBeUndefined();
  });

  test('a bulk value of the largest size we allow passes; one byte more does not', () => {
    const n = RESP_LIMITS.maxBulkBytes;
    expect(feed(`$${n}\r\n${'x'.repeat(n)}\r\n`)).toBeUndefined();
    expect(feed(`$${n + 1}\r\n`)).toBe(`a bulk string of ${n + 1} bytes (at most ${n})`);
  });

  test('the attacks are named at their first bytes', () => {
    expect(feed('*300000\r\n')).toBe('an array of 300000 elements (at most 64 in a reply)');
    expect(feed('$2000000000\r\n')).toBe('a bulk string of 2000000000 bytes (at most 262144)');
    expect(feed(`+${'A'.repeat(RESP_LIMITS.maxLineBytes + 2)}`)).toBe(`a line over ${RESP_LIMITS.maxLineBytes} bytes`);
    expect(feed('HTTP/1.1 400 Bad Request\r\n')).toBe('a byte that starts no RESP2 reply (0x48)');
    expect(feed('*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n')).toBe('arrays nested over 4 deep');
    expect(feed(`$${'9'.repeat(30)}`)).toBe('a length header that is not a number');
    expect(feed('$-5\r\n')).toBe('a length header that is not a number');
    expect(feed(`*60\r\n${`$200000\r\n${'x'.repeat(200_000)}\r\n`.repeat(3)}`)).toBe(`a reply over ${RESP_LIMITS.maxReplyBytes} bytes`);
  });

  test('elements are counted per reply: many small replies in a row pass', () => {
    expect(feed(`*40\r\n${':1\r\n'.repeat(40)}*40\r\n${':1\r\n'.repeat(40)}`)).toBeUndefined();
  });

  test('once broken it stays broken', () => {
    const guard = new RespGuard();
    expect(guard.push(Buffer.from('*999\r\n'))).toBeDefined();
    expect(guard.push(Buffer.from('+OK\r\n'))).toBeDefined();
  });

  test('any bytes, however split: never an exception, and time linear in the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 1, max: 64 }), (bytes, split) => {
        const guard = new RespGuard();
        for (let i = 0; i < bytes.length; i += split) guard.push(bytes.subarray(i, i + split));
      }),
    );
  });
});
