import { formatEndpoint, isLoopback, parseEndpoint } from '../../src/protocol/endpoint';
import { isLoopbackHost } from '../../src/net/loopback';

describe('socket specs in sendmail syntax', () => {
  test.each([
    ['inet:8425@127.0.0.1', { kind: 'inet', family: 4, host: '127.0.0.1', port: 8425 }],
    ['inet:8425@[127.0.0.1]', { kind: 'inet', family: 4, host: '127.0.0.1', port: 8425 }],
    ['inet6:8425@[::1]', { kind: 'inet', family: 6, host: '::1', port: 8425 }],
    ['inet6:8425@[IPv6:::1]', { kind: 'inet', family: 6, host: '::1', port: 8425 }],
    ['inet:0@localhost', { kind: 'inet', family: 4, host: 'localhost', port: 0 }],
    ['unix:/run/mx4map/sock', { kind: 'unix', path: '/run/mx4map/sock' }],
    ['local:/run/mx4map/sock', { kind: 'unix', path: '/run/mx4map/sock' }],
    ['/run/mx4map/sock', { kind: 'unix', path: '/run/mx4map/sock' }],
  ])('%s', (spec, expected) => {
    expect(parseEndpoint(spec)).toMatchObject(expected);
  });

  test.each([
    ['8425', /has no type/],
    ['tcp:8425@127.0.0.1', /unknown type "tcp"/],
    ['inet:8425', /names no host/],
    ['inet:99999@127.0.0.1', /port "99999"/],
    ['inet:http@127.0.0.1', /port "http"/],
    ['inet:8425@', /empty host/],
    ['inet:8425@::1', /IPv6 address: write inet6:8425@::1/],
    ['inet6:8425@127.0.0.1', /IPv4 address: write inet:8425@127.0.0.1/],
    ['inet:8425@bad host', /neither an IP address nor a host name/],
    ['unix:relative/path', /absolute path/],
  ])('rejects %s with a message naming the fix', (spec, message) => {
    expect(() => parseEndpoint(spec)).toThrow(message);
  });

  test('formats a bound endpoint with its real port', () => {
    expect(formatEndpoint(parseEndpoint('inet:0@127.0.0.1'), 40000)).toBe('inet:40000@127.0.0.1');
    expect(formatEndpoint(parseEndpoint('inet6:0@[::1]'), 40000)).toBe('inet6:40000@[::1]');
  });

  test('loopback detection', () => {
    expect(isLoopback(parseEndpoint('inet:1@127.0.0.1'))).toBe(true);
    expect(isLoopback(parseEndpoint('inet6:1@[::1]'))).toBe(true);
    expect(isLoopback(parseEndpoint('unix:/x'))).toBe(true);
    expect(isLoopback(parseEndpoint('inet:1@0.0.0.0'))).toBe(false);
    expect(isLoopback(parseEndpoint('inet:1@192.0.2.1'))).toBe(false);
  });

  test('one loopback test for every listener: 127/8, ::1, v4-mapped 127/8, the loopback names', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '::ffff:192.0.2.1', '192.0.2.1', '128.0.0.1']) expect(isLoopbackHost(host)).toBe(false);
  });
});
