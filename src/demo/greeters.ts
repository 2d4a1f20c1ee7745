/**
 * The demo's stand-ins for MX hosts' IPv6 SMTP: two listeners on [::1], one that greets with 220 (IPv6 that
 * works) and one that hangs up without a greeting (IPv6 that does not), and the probe that sends each demo
 * address to one of them. Documentation addresses are not reachable anywhere; this makes the probe step real
 * (a TCP connect and a greeting read) without root or a network of our own.
 */
import { type Server, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { type SmtpProbe, probeSmtp } from '../probe/smtp-probe.js';

export interface DemoGreeters {
  /** Probes `address` through the greeter the demo zone assigns it: greeting when listed in `working`. */
  readonly probe: SmtpProbe;
  close(): void;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '::1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** Starts both greeters; rejects when [::1] cannot be listened on (IPv6 off on loopback). */
export async function startDemoGreeters(working: readonly string[]): Promise<DemoGreeters> {
  const greeter = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end('220 mx.demo ESMTP mx4map demo greeter\r\n');
  });
  const silent = createServer((socket) => socket.destroy());
  const greeterPort = await listen(greeter);
  const silentPort = await listen(silent).catch((err: unknown) => {
    greeter.close();
    throw err;
  });
  return {
    probe: (address, _port, timeoutMs) => probeSmtp('::1', working.includes(address) ? greeterPort : silentPort, timeoutMs),
    close() {
      greeter.close();
      silent.close();
    },
  };
}
