/**
 * Benchmark zones: forced domains for cache hits, and cold domains over 20 shared MX hosts (`warm…` ones
 * to warm a fresh server up on, `cold…` ones to measure).
 */
import type { Zone } from '../../test/support/dns-fixture.js';
import { testIpv6 } from '../../test/support/test-addresses.js';

export const HOSTS = 20;

/**
 * The MX hosts' IPv4 addresses, from TEST-NET-2: test machines carry 192.0.2.x addresses of their own, and
 * a host at one of them would be this host (`local`), decided and cached unlike the others.
 */
const providerIpv4 = (h: number): string => `198.51.100.${h + 1}`;

export function benchZone(hitDomains: number, coldDomains: number, warmDomains: number): Zone {
  const records: Zone['records'] = {};
  for (let h = 0; h < HOSTS; h++) {
    const mx = `mx${h}.provider.test`;
    if (h % 2 === 0) {
      // An alias: cname-mx, decided from DNS alone.
      records[mx] = [{ type: 'CNAME', target: `edge${h}.provider.test`, ttl: 3600 }];
      records[`edge${h}.provider.test`] = [{ type: 'A', address: providerIpv4(h), ttl: 3600 }];
    } else {
      // A proper host with IPv6 that answers SMTP: probed once, then left alone (ipv6-ok).
      records[mx] = [
        { type: 'A', address: providerIpv4(h), ttl: 3600 },
        // A documentation address on lo (bench.ts puts it there), where a fake SMTP server greets.
        { type: 'AAAA', address: testIpv6(h + 1), ttl: 3600 },
      ];
    }
  }
  for (let i = 0; i < hitDomains; i++) records[`hit${i}.test`] = [{ type: 'MX', exchange: `mx${i % HOSTS}.provider.test`, priority: 10, ttl: 3600 }];
  for (let i = 0; i < coldDomains; i++) records[`cold${i}.test`] = [{ type: 'MX', exchange: `mx${i % HOSTS}.provider.test`, priority: 10, ttl: 3600 }];
  for (let i = 0; i < warmDomains; i++) records[`warm${i}.test`] = [{ type: 'MX', exchange: `mx${i % HOSTS}.provider.test`, priority: 10, ttl: 3600 }];
  return { records, negativeTtl: 3600 };
}
