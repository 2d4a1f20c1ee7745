/**
 * `npm run fuzz -- --mode log-lines`: the delivery-line reader against hostile log lines: mutations of real
 * Postfix and sendmail lines, reply texts that quote fields, crafted repetitions up to the line cap, random
 * bytes. Checked: no exception; time per line bounded (the old patterns took seconds on 8 KB); every
 * relay read is a host name and address written before the reply text, never inside it. Seeded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { MAX_LINE, parseDeliveryLine } from '../../src/learn/delivery-line.js';
import { rejectionIn } from '../../src/learn/bounce-lines.js';
import { isHostName } from '../../src/domain/key.js';
import type { Inputs } from './inputs.js';

const FIXTURE = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'ipv6-ptr-rejections.maillog');
const PIECES = [
  'to=<a@b.example>, ',
  'relay=evil.example[2001:db8::66]:25, ',
  'relay=evil.example. [IPv6:2001:db8::66], ',
  'dsn=5.7.25, ',
  'status=bounced (',
  'stat=',
  'reply=',
  ']: ',
  '4Xk2: ',
  '<',
  '>',
  ', ',
  '[',
  ']',
  '=',
  'to=a@',
  '@',
];

function hostileLine(g: Inputs, real: readonly string[]): string {
  const base = g.pick(real);
  switch (g.int(5)) {
    case 0: {
      // A remote reply that quotes fields: appended after the real text.
      let extra = '';
      while (extra.length < g.int(MAX_LINE)) extra += g.pick(PIECES);
      return `${base} ${extra}`.slice(0, MAX_LINE);
    }
    case 1: {
      const piece = g.pick(PIECES);
      return `${base.slice(0, g.int(base.length))}${piece.repeat(Math.floor(MAX_LINE / piece.length))}`.slice(0, MAX_LINE);
    }
    case 2: {
      const chars = [...base];
      for (let i = 0; i < 1 + g.int(8); i++) chars.splice(g.int(chars.length), g.int(3), g.pick(PIECES));
      return chars.join('');
    }
    case 3:
      return g.bytes(g.int(MAX_LINE)).toString('latin1');
    default:
      return base;
  }
}

export function fuzzLogLines(g: Inputs, seconds: number): { violations: string[]; figures: string[] } {
  const violations: string[] = [];
  const real = readFileSync(FIXTURE, 'utf8').trim().split('\n');
  let lines = 0;
  let read = 0;
  let slowest = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const line = hostileLine(g, real);
    const started = performance.now();
    try {
      const d = parseDeliveryLine(line);
      rejectionIn(line);
      if (d) {
        read++;
        // Fields start after the program tag (the first "]: "); what comes before it is the syslog header.
        const fieldsAt = line.indexOf(']: ');
        // The reply text begins at the first of its MTA's markers (the earliest, so text quoting one is covered).
        const textMarkers = d.mta === 'postfix' ? [', status='] : [', stat=', ', reply='];
        // Addresses in <…> (to=, orig_to=) are values, whatever they hold: masked before the search.
        const masked = line.replace(/(?<=]: [^:]*: |, )(?:orig_)?to=<[^>]*>/g, (m) => '_'.repeat(m.length));
        const markers = textMarkers.map((m) => masked.indexOf(m, fieldsAt)).filter((at) => at >= 0);
        const textAt = markers.length > 0 ? Math.min(...markers) : -1;
        const relayAt = line.indexOf('relay=', fieldsAt);
        if (d.host !== undefined && !isHostName(d.host)) violations.push(`log-lines: relay "${d.host}" is not a host name`);
        if (d.address !== undefined && isIP(d.address) === 0) violations.push(`log-lines: relay address "${d.address}" is not an address`);
        if (d.host !== undefined && textAt >= 0 && relayAt > textAt) violations.push(`log-lines: relay read from the reply text: ${line.slice(0, 120)}`);
      }
    } catch (err) {
      violations.push(`log-lines: ${String(err)} on ${JSON.stringify(line.slice(0, 120))}`);
    }
    slowest = Math.max(slowest, performance.now() - started);
    lines++;
    if (violations.length > 20) break;
  }
  if (slowest > 50) violations.push(`log-lines: one line took ${slowest.toFixed(1)} ms`);
  return {
    violations: violations.slice(0, 21),
    figures: [`hostile log lines    ${lines.toLocaleString('en')} lines, ${read.toLocaleString('en')} read as deliveries, slowest ${slowest.toFixed(2)} ms`],
  };
}
