/** Fake SMTP endpoints on [::1]: a real greeting, a 4xx, silence, garbage, a reset, a trickled greeting. */
import { createServer, type Server, type Socket } from 'node:net';

export type SmtpBehaviour = 'greet' | 'multiline' | 'tempfail' | 'silent' | 'garbage' | 'reset' | 'trickle';

export interface SmtpFixture {
  readonly port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Lines the clients sent (QUIT expected after a greeting). */
  readonly received: string[];
  close(): Promise<void>;
}

export async function startSmtpFixture(behaviour: SmtpBehaviour, host = '::1'): Promise<SmtpFixture> {
  const sockets = new Set<Socket>();
  const fixture: SmtpFixture = { port: 0, connections: 0, received: [], close: () => Promise.resolve() };
  const server: Server = createServer((socket) => {
    fixture.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => fixture.received.push(d.toString('latin1').trim()));
    switch (behaviour) {
      case 'greet':
        socket.write('220 mx.example ESMTP ready\r\n');
        break;
      case 'multiline':
        socket.write('220-mx.example ESMTP\r\n220-second line\r\n220 ready\r\n');
        break;
      case 'tempfail':
        socket.write('421 4.3.2 too busy\r\n');
        break;
      case 'garbage':
        socket.write('HTTP/1.1 400 Bad Request\r\n\r\n');
        break;
      case 'reset':
        socket.resetAndDestroy();
        break;
      case 'trickle': {
        const text = '220 slow.example ESMTP\r\n';
        let i = 0;
        const timer = setInterval(() => {
          if (socket.destroyed || i >= text.length) return clearInterval(timer);
          socket.write(text[i++]);
        }, 5);
        break;
      }
      case 'silent':
        break;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  (fixture as { port: number }).port = (server.address() as { port: number }).port;
  fixture.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return fixture;
}

/** A port on [::1] that refuses connections (bound, then closed again). */
export async function refusingPort(host = '::1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
