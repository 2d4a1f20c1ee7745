/**
 * systemd socket activation and readiness, without systemd: a stand-in (test/support/socket-activator.py)
 * binds the listening socket and keeps it while it starts and restarts the built serve with the socket as
 * descriptor 3, as systemd does with mx4map.socket. While mx4map restarts, the kernel queues connections
 * in the socket's backlog: clients wait a moment instead of being refused.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { type Activator, startActivator } from '../support/activator';
import { until } from '../support/until';
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { ruleZone } from '../support/rule-zone';
import { NetstringDecoder, encodeNetstring } from '../../src/protocol/netstring';

let dns: DnsFixture;
let activator: Activator | undefined;
beforeAll(async () => {
  dns = await startDnsFixture(ruleZone());
});
afterAll(() => dns.close());
afterEach(async () => {
  await activator?.close();
  activator = undefined;
});

const serveArgs = () => ['--dns', dns.spec, '--no-probe', '--listen', 'inet:1@127.0.0.1'];

test('serves the passed socket (not its listen option) and tells systemd it is ready, with its pid', async () => {
  activator = await startActivator('127.0.0.1:0', serveArgs());
  activator.send('start');
  const started = await activator.waitFor((l) => l.event === 'started');
  const listening = await activator.waitFor((l) => l.evt === 'listening');
  expect(listening.listen).toEqual([`inet:${activator.address.split(':')[1]}@127.0.0.1`]);
  await activator.waitFor((l) => l.evt === 'socket-activation');
  const ready = await activator.waitFor((l) => l.event === 'notify');
  expect(ready.message).toBe(`READY=1\nMAINPID=${started.pid as number}`);
  activator.send('stop');
  await activator.waitFor((l) => l.event === 'notify' && l.message === 'STOPPING=1');
});

test('a passed socket that was never bound is refused with one line naming the unit setting, not served on a random port', async () => {
  activator = await startActivator('unbound', serveArgs());
  activator.send('start');
  const a = activator;
  await until(
    () => a.stderr().includes('mx4map: passed socket 3 (mx4map) is not a listening socket bound to an address: check ListenStream= in the socket unit\n'),
    10_000,
    'the refusal',
  );
  expect(activator.lines.some((l) => l.evt === 'listening')).toBe(false);
});

test('a passed socket on every address is served with a listen-exposed warning', async () => {
  activator = await startActivator('0.0.0.0:0', serveArgs());
  activator.send('start');
  const warned = await activator.waitFor((l) => l.evt === 'listen-exposed');
  expect(warned.listen).toBe(`inet:${activator.address.split(':')[1]}@0.0.0.0`);
  await activator.waitFor((l) => l.evt === 'listening');
});

/** One lookup on a fresh connection. Resolves with the reply, or the connect error's code. */
function lookupOnce(port: number, key: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const decoder = new NetstringDecoder(1000);
    socket.on('connect', () => socket.write(encodeNetstring(`mailertable ${key}`)));
    socket.on('data', (chunk: Buffer) =>
      decoder.push(chunk, (p) => {
        resolve(p.toString());
        socket.destroy();
      }),
    );
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    socket.on('close', () => resolve('closed'));
  });
}

/** A Postfix-like client: one connection kept; a request that meets EOF is sent again once on a new one. */
class Persistent {
  private socket: Socket | undefined;
  answered = 0;
  failures: string[] = [];

  constructor(private readonly port: number) {}

  private open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect({ port: this.port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.on('error', () => undefined); // closes are seen as EOF by ask()
        resolve(s);
      });
      s.once('error', reject);
    });
  }

  private ask(socket: Socket, key: string): Promise<string> {
    return new Promise((resolve) => {
      const decoder = new NetstringDecoder(1000);
      const onData = (chunk: Buffer): void => void decoder.push(chunk, (p) => done(p.toString()));
      const done = (result: string): void => {
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve(result);
      };
      const onClose = (): void => done('EOF');
      socket.on('data', onData);
      socket.once('close', onClose);
      socket.write(encodeNetstring(`mailertable ${key}`));
    });
  }

  async lookup(key: string): Promise<string> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        this.socket ??= await this.open();
      } catch (err) {
        return (err as NodeJS.ErrnoException).code ?? 'error';
      }
      const reply = await this.ask(this.socket, key);
      if (reply !== 'EOF') return reply;
      this.socket.destroy();
      this.socket = undefined; // "retry connection-level errors once" (Postfix dict_sockmap.c)
    }
    return 'EOF twice';
  }

  close(): void {
    this.socket?.destroy();
  }
}

test('restarted three times while clients keep asking: no connection refused, every request answered', async () => {
  activator = await startActivator('127.0.0.1:0', serveArgs());
  const port = Number(activator.address.split(':')[1]);
  activator.send('start');
  await activator.waitFor((l) => l.evt === 'listening');
  let running = true;
  const replies: string[] = [];
  const persistent = new Persistent(port);
  const clients = [
    (async () => {
      while (running) replies.push(await persistent.lookup('cname-mx.test'));
    })(),
    (async () => {
      while (running) replies.push(await lookupOnce(port, 'cname-mx.test'));
    })(),
  ];
  // Between restarts, and after the last, both clients are answered a few times by the instance now running.
  const answeredAgain = async (): Promise<void> => {
    const before = replies.length;
    await until(() => replies.length >= before + 20, 10_000, 'lookups answered by the new instance');
  };
  for (let i = 0; i < 3; i++) {
    await answeredAgain();
    const from = activator.lines.length;
    activator.send('restart');
    await activator.waitFor((l) => l.evt === 'listening', 10_000, from);
  }
  await answeredAgain();
  running = false;
  await Promise.all(clients);
  persistent.close();
  const wrong = replies.filter((r) => r !== 'OK esmtp:[192.0.2.10]');
  expect(wrong).toEqual([]);
  expect(replies.length).toBeGreaterThan(100);
  expect(activator.lines.filter((l) => l.event === 'started')).toHaveLength(4);
}, 60_000);

test('a passed UNIX socket stays when mx4map stops: it belongs to systemd', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'mx4map-act-')), 'mx4map.sock');
  activator = await startActivator(path, serveArgs());
  activator.send('start');
  const listening = await activator.waitFor((l) => l.evt === 'listening');
  expect(listening.listen).toEqual([`unix:${path}`]);
  activator.send('stop');
  await activator.waitFor((l) => l.event === 'stopped');
  expect(existsSync(path)).toBe(true);
});
