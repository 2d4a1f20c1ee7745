/**
 * The zone `mx4map demo` answers from: one domain for each trigger DNS can show and each kind of NOTFOUND,
 * and what the demo server answers for each (the demo's printed commands and its test both come from here).
 */
import type { Zone } from './zone-server.js';

export const DEMO_ZONE: Zone = {
  'cname-mx.demo': [{ type: 'MX', preference: 10, exchange: 'mail.cname-mx.demo' }],
  'mail.cname-mx.demo': [{ type: 'CNAME', target: 'real.cname-mx.demo' }],
  'real.cname-mx.demo': [
    { type: 'A', address: '192.0.2.10' },
    { type: 'AAAA', address: '2001:db8::10' },
  ],
  'no-aaaa.demo': [
    { type: 'MX', preference: 10, exchange: 'mx1.no-aaaa.demo' },
    { type: 'MX', preference: 20, exchange: 'mx2.no-aaaa.demo' },
  ],
  'mx1.no-aaaa.demo': [{ type: 'A', address: '192.0.2.21' }],
  'mx2.no-aaaa.demo': [{ type: 'A', address: '192.0.2.22' }],
  'sts.demo': [{ type: 'MX', preference: 10, exchange: 'mx.sts.demo' }],
  'mx.sts.demo': [{ type: 'A', address: '192.0.2.30' }],
  '_mta-sts.sts.demo': [{ type: 'TXT', text: 'v=STSv1; id=20261204' }],
  'dead-v6.demo': [{ type: 'MX', preference: 10, exchange: 'mx.dead-v6.demo' }],
  'mx.dead-v6.demo': [
    { type: 'A', address: '192.0.2.50' },
    { type: 'AAAA', address: '2001:db8::50' },
  ],
  'dual.demo': [{ type: 'MX', preference: 10, exchange: 'mx.dual.demo' }],
  'mx.dual.demo': [
    { type: 'A', address: '192.0.2.40' },
    { type: 'AAAA', address: '2001:db8::40' },
  ],
  'nullmx.demo': [{ type: 'MX', preference: 0, exchange: '.' }],
  'never.demo': [{ type: 'MX', preference: 10, exchange: 'mail.never.demo' }],
  'mail.never.demo': [{ type: 'CNAME', target: 'real.cname-mx.demo' }],
};

/** The IPv6 addresses whose SMTP answers in the demo; every other one fails its probe. */
export const DEMO_WORKING_IPV6 = ['2001:db8::10', '2001:db8::40'];

/** `never` as the demo configures it. */
export const DEMO_NEVER = ['never.demo'];

/** Each demo domain, what the mailertable map answers, and why. */
export const DEMO_ANSWERS: readonly { readonly domain: string; readonly reply: string; readonly why: string }[] = [
  { domain: 'cname-mx.demo', reply: 'OK esmtp:[192.0.2.10]', why: 'its MX host is a CNAME (cname-mx)' },
  { domain: 'no-aaaa.demo', reply: 'OK esmtp:[192.0.2.21]:[192.0.2.22]', why: 'its MX hosts have no AAAA (no-aaaa), failover kept' },
  { domain: 'dead-v6.demo', reply: 'OK esmtp:[192.0.2.50]', why: 'its MX host has AAAA, but IPv6 SMTP does not answer (ipv6-unreachable, probed)' },
  { domain: 'dual.demo', reply: 'NOTFOUND ', why: 'A and AAAA, and IPv6 SMTP greets (probed): the MTA routes it as usual' },
  { domain: 'sts.demo', reply: 'NOTFOUND ', why: 'would be forced, but publishes MTA-STS, which an IP-literal route would drop (secure_domains: skip)' },
  { domain: 'nullmx.demo', reply: 'NOTFOUND ', why: 'null MX: accepts no mail (the MTA bounces it itself)' },
  { domain: 'nx.demo', reply: 'NOTFOUND ', why: 'does not exist (NXDOMAIN)' },
  { domain: 'never.demo', reply: 'NOTFOUND ', why: 'listed in never' },
];
