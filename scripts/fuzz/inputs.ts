/**
 * Inputs for the live fuzzer: well-formed requests (known domains, odd keys, unknown maps) and hostile ones
 * (mutated netstrings, random bytes, absurd lengths, oversized requests). Seeded, so a run can be repeated.
 */
import { encodeNetstring } from '../../src/protocol/netstring.js';

/** mulberry32: small, fast and good enough to pick mutations; the seed makes a failing run repeatable. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Inputs {
  constructor(
    private readonly rnd: () => number,
    private readonly knownDomains: readonly string[],
  ) {}

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(max: number): Buffer {
    const out = Buffer.allocUnsafe(this.int(max + 1));
    for (let i = 0; i < out.length; i++) out[i] = this.int(256);
    return out;
  }

  /** A request payload the server must answer: `<map> <key>`. */
  request(): { payload: Buffer; known?: string } {
    const map = this.rnd() < 0.9 ? this.pick(['mailertable', 'transport']) : `map${this.int(1000)}`;
    const r = this.rnd();
    if (r < 0.5) {
      const domain = this.pick(this.knownDomains);
      const key = this.pick([domain, domain.toUpperCase(), `${domain}.`, `user@${domain}`]);
      return { payload: Buffer.from(`${map} ${key}`), known: map === 'mailertable' || map === 'transport' ? `${map} ${domain}` : undefined };
    }
    if (r < 0.7)
      return { payload: Buffer.from(`${map} ${this.pick(['.', '.test', `.${this.pick(this.knownDomains)}`, '*', '[192.0.2.1]', '2001:db8::1', '', '@'])}`) };
    return { payload: Buffer.concat([Buffer.from(`${map} `), this.bytes(this.pick([8, 64, 300]))]) };
  }

  /** Bytes that may or may not frame correctly: the server must cope either way. */
  hostile(maxRequestBytes: number): Buffer {
    const r = this.rnd();
    if (r < 0.6) return this.mutate(encodeNetstring(this.request().payload));
    if (r < 0.8) return this.bytes(this.pick([4, 64, 2000]));
    if (r < 0.9) return Buffer.from(`${'9'.repeat(1 + this.int(15))}:`);
    // Longer than max_request_bytes: read past and answered NOTFOUND.
    return encodeNetstring(Buffer.alloc(maxRequestBytes + 1 + this.int(maxRequestBytes), 0x61));
  }

  private mutate(frame: Buffer): Buffer {
    const b = Buffer.from(frame);
    const at = this.int(b.length);
    switch (this.int(8)) {
      case 0: // flip a bit
        b[at] ^= 1 << this.int(8);
        return b;
      case 1: // replace a byte
        b[at] = this.int(256);
        return b;
      case 2: // insert bytes
        return Buffer.concat([b.subarray(0, at), this.bytes(8), b.subarray(at)]);
      case 3: // delete a range
        return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + this.int(8)))]);
      case 4: // duplicate a range
        return Buffer.concat([b.subarray(0, at), b.subarray(at, at + 1 + this.int(16)), b.subarray(at)]);
      case 5: {
        // a different length
        const colon = b.indexOf(0x3a);
        const digits = this.pick([String(this.int(100)), `0${this.int(10)}`, String(colon + this.int(3) - 1), '', '-1']);
        return Buffer.concat([Buffer.from(digits), b.subarray(colon)]);
      }
      case 6: // no comma
        return b.subarray(0, b.length - 1);
      default: // cut short
        return b.subarray(0, at);
    }
  }
}
