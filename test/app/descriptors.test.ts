import { connectionCap, describeCap, openFileLimit } from '../../src/app/descriptors';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            65536                65536                files
Max locked memory         8388608              8388608              bytes
`;

describe('the connection cap follows the open-file limit', () => {
  test('the soft limit is read from /proc/self/limits', () => {
    expect(openFileLimit(LIMITS)).toBe(65536);
    expect(openFileLimit(LIMITS.replace('65536                65536', 'unlimited            unlimited'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(openFileLimit('nothing here')).toBeUndefined();
    expect(openFileLimit()).toBeGreaterThan(0); // this machine's own
  });

  test('auto: the limit minus a reserve for DNS, probes, the ops listener and files', () => {
    const cap = connectionCap({ maxConnections: 'auto', probeConcurrency: 64, dnsMaxInFlight: 256 }, 65536);
    expect(cap.cap).toBe(65536 - 400);
    expect(describeCap(cap)).toBe(
      '65136 connections (open-file limit 65536; 400 reserved: 256 DNS sockets, 64 probes, 16 ops connections, 64 files and listeners)',
    );
    expect(connectionCap({ maxConnections: 'auto', probeConcurrency: 1000, dnsMaxInFlight: 256 }, 65536).cap).toBe(65536 - 1336);
  });

  test('a tiny limit still leaves room for a few clients; an unknown one is assumed to be 1,024', () => {
    expect(connectionCap({ maxConnections: 'auto', probeConcurrency: 64, dnsMaxInFlight: 256 }, 256).cap).toBe(16);
    const unknown = connectionCap({ maxConnections: 'auto', probeConcurrency: 64, dnsMaxInFlight: 256 }, undefined);
    expect(unknown).toMatchObject({ cap: 624, limit: 1024, limitKnown: false });
  });

  test('a fixed cap is kept, with a warning when it eats into the reserve', () => {
    expect(connectionCap({ maxConnections: 1000, probeConcurrency: 64, dnsMaxInFlight: 256 }, 65536)).toMatchObject({ cap: 1000, warning: undefined });
    expect(connectionCap({ maxConnections: 1000, probeConcurrency: 64, dnsMaxInFlight: 256 }, 1024).warning).toMatch(
      /^max_connections 1000 leaves less than 400 of the open-file limit 1024/,
    );
  });
});
