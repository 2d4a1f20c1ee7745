/**
 * A validating resolver as the transport-security tests need one, on a real socket (startHostileDns): a zone
 * of names and records, some names signed. A signed name is answered with AD — its records, or its denial —
 * when the query asks for DNSSEC (AD set, RFC 6840 §5.7), as Unbound does; an answer that follows a CNAME carries AD only
 * when every name on the way is signed. Chosen names fail (SERVFAIL) or never answer.
 */
import { type HostileDns, startHostileDns } from './hostile-dns.js';
import { TLSA_RDATA, TXT_RDATA, header, nameBytes, question, rrAt } from './dns-packets.js';

export type SignedRecord =
  | { readonly type: 'MX'; readonly exchange: string; readonly preference?: number }
  | { readonly type: 'A' | 'AAAA'; readonly address: string }
  | { readonly type: 'CNAME'; readonly target: string }
  | { readonly type: 'TLSA'; readonly usage: number; readonly selector?: number; readonly matchingType?: number }
  | { readonly type: 'TXT'; readonly text: string };

export interface SignedZone {
  records: Record<string, SignedRecord[]>;
  /** Names whose answers validate. */
  signed: Set<string>;
  /** "name TYPE" (or "name") → what goes wrong. */
  faults: Record<string, 'servfail' | 'silent'>;
}

const CODE = { A: 1, AAAA: 28, MX: 15, CNAME: 5, TXT: 16, TLSA: 52 } as const;
const TYPE_OF: Record<number, keyof typeof CODE> = { 1: 'A', 28: 'AAAA', 15: 'MX', 5: 'CNAME', 16: 'TXT', 52: 'TLSA' };

function rdata(r: SignedRecord): Buffer {
  switch (r.type) {
    case 'MX':
      return Buffer.concat([Buffer.from([0, r.preference ?? 10]), nameBytes(r.exchange)]);
    case 'A':
      return Buffer.from(r.address.split('.').map(Number));
    case 'AAAA': {
      const [head, tail = ''] = r.address.split('::');
      const groups = (s: string): string[] => (s ? s.split(':') : []);
      const missing = 8 - groups(head).length - groups(tail).length;
      const all = [...groups(head), ...Array(r.address.includes('::') ? missing : 0).fill('0'), ...groups(tail)];
      return Buffer.from(all.map((g) => g.padStart(4, '0')).join(''), 'hex');
    }
    case 'CNAME':
      return nameBytes(r.target);
    case 'TLSA':
      return TLSA_RDATA(r.usage, r.selector ?? 1, r.matchingType ?? 1);
    case 'TXT':
      return TXT_RDATA(r.text);
  }
}

export interface SignedDns extends HostileDns {
  readonly zone: SignedZone;
  /** Queries seen, as "name TYPE". */
  readonly asked: string[];
  /** Queries that asked for DNSSEC (AD set). */
  readonly askedSigned: string[];
}

export async function startSignedDns(zone: SignedZone): Promise<SignedDns> {
  const asked: string[] = [];
  const askedSigned: string[] = [];
  const dns = await startHostileDns((q, _tcp, raw) => {
    const type = TYPE_OF[q.type] ?? 'OTHER';
    asked.push(`${q.name} ${type}`);
    const wantsDnssec = (raw[3] & 0x20) !== 0; // AD in the query (mx4map sets it with DO)
    if (wantsDnssec) askedSigned.push(`${q.name} ${type}`);
    const fault = zone.faults[`${q.name} ${type}`] ?? zone.faults[q.name];
    if (fault === 'silent') return undefined;
    const reply = (flags: number, answers: Buffer[]): Buffer[] => [
      Buffer.concat([header(q.id, [1, answers.length, 0, 0], flags), question(q.name, q.type), ...answers]),
    ];
    if (fault === 'servfail') return reply(0x8182, []);
    // Follow CNAMEs, as a recursive resolver does, noting whether every name on the way is signed.
    const answers: Buffer[] = [];
    let name = q.name;
    let validated = zone.signed.has(name);
    for (let hops = 0; hops < 10; hops++) {
      const records = zone.records[name];
      if (!records) return reply(0x8183 | (wantsDnssec && validated ? 0x20 : 0), answers); // NXDOMAIN
      const cname = records.find((r) => r.type === 'CNAME');
      if (cname && cname.type === 'CNAME' && type !== 'CNAME') {
        answers.push(rrAt(name, CODE.CNAME, rdata(cname)));
        name = cname.target;
        validated &&= zone.signed.has(name);
        continue;
      }
      for (const r of records) if (r.type === type) answers.push(rrAt(name, CODE[r.type], rdata(r)));
      break;
    }
    return reply(0x8180 | (wantsDnssec && validated ? 0x20 : 0), answers);
  });
  return { ...dns, zone, asked, askedSigned };
}
