/**
 * A recording SMTP server: greets, takes any envelope and message, and keeps what it received, so a test
 * can see which host a real MTA delivered each message to.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ReceivedMessage {
  readonly from: string;
  readonly to: readonly string[];
  readonly data: string;
}

export interface SmtpSink {
  readonly host: string;
  readonly port: number;
  readonly messages: ReceivedMessage[];
  /** Every RCPT asked, accepted or not. */
  readonly rcpts: string[];
  close(): Promise<void>;
}

export interface SinkBehaviour {
  /** Answers every RCPT with this reply instead of accepting it (e.g. a receiver's reverse-DNS rejection). */
  readonly rcptReply?: string;
}

function session(socket: Socket, host: string, messages: ReceivedMessage[], behaviour: SinkBehaviour, rcpts: string[]): void {
  let buffer = '';
  let from = '';
  let to: string[] = [];
  let data: string[] | undefined;
  const reply = (line: string): void => void socket.write(`${line}\r\n`);
  socket.on('error', () => undefined);
  reply(`220 ${host} sink ESMTP`);
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (data) {
        if (line === '.') {
          messages.push({ from, to, data: data.join('\n') });
          data = undefined;
          reply('250 2.0.0 accepted');
        } else data.push(line.startsWith('..') ? line.slice(1) : line);
        continue;
      }
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO' || verb === 'HELO') reply(`250 ${host}`);
      else if (verb === 'MAIL') {
        from = /<([^>]*)>/.exec(line)?.[1] ?? '';
        to = [];
        reply('250 2.1.0 ok');
      } else if (verb === 'RCPT') {
        const rcpt = /<([^>]*)>/.exec(line)?.[1] ?? '';
        rcpts.push(rcpt);
        if (behaviour.rcptReply) reply(behaviour.rcptReply);
        else {
          to.push(rcpt);
          reply('250 2.1.5 ok');
        }
      } else if (verb === 'DATA') {
        data = [];
        reply('354 go ahead');
      } else if (verb === 'QUIT') {
        reply('221 2.0.0 bye');
        socket.end();
      } else reply('250 2.0.0 ok');
    }
  });
}

export async function startSmtpSink(host: string, port = 0, behaviour: SinkBehaviour = {}): Promise<SmtpSink> {
  const messages: ReceivedMessage[] = [];
  const rcpts: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    session(socket, host, messages, behaviour, rcpts);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    host,
    port: (server.address() as { port: number }).port,
    messages,
    rcpts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sinks on several addresses, all on one port (so one mailer port reaches each of them). */
export async function startSmtpSinks(hosts: readonly string[], behaviours: Readonly<Record<string, SinkBehaviour>> = {}): Promise<SmtpSink[]> {
  for (let attempt = 0; ; attempt++) {
    const first = await startSmtpSink(hosts[0], 0, behaviours[hosts[0]]);
    const rest: SmtpSink[] = [];
    try {
      for (const host of hosts.slice(1)) rest.push(await startSmtpSink(host, first.port, behaviours[host]));
      return [first, ...rest];
    } catch (err) {
      await Promise.all([first, ...rest].map((s) => s.close()));
      if (attempt >= 5) throw err;
    }
  }
}

/** A minimal SMTP client: one command, one (possibly multi-line) reply. */
export class SmtpClient {
  private buffer = '';
  private waiting: ((reply: string) => void) | undefined;
  private readonly lines: string[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      for (let end = this.buffer.indexOf('\r\n'); end >= 0; end = this.buffer.indexOf('\r\n')) {
        const line = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        this.lines.push(line);
        if (/^\d{3} /.test(line)) {
          const reply = this.lines.splice(0).join('\n');
          const w = this.waiting;
          this.waiting = undefined;
          w?.(reply);
        }
      }
    });
    socket.on('error', () => undefined);
  }

  static async connect(host: string, port: number): Promise<{ client: SmtpClient; greeting: string }> {
    const socket = connect({ host, port });
    const client = new SmtpClient(socket);
    const greeting = await client.next();
    return { client, greeting };
  }

  private next(): Promise<string> {
    return new Promise((resolve) => (this.waiting = resolve));
  }

  command(line: string): Promise<string> {
    const reply = this.next();
    this.socket.write(`${line}\r\n`);
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }
}
