/** The built `mx4map serve` wired to the fixture DNS (the rule zone) and a greeting SMTP endpoint on TEST_IPV6. */
import { type ServeProcess, startServe } from './cli.js';
import { type DnsFixture, startDnsFixture } from './dns-fixture.js';
import { type SmtpFixture, startSmtpFixture } from './smtp-fixture.js';
import { cliZone } from './cli-zone.js';
import { TEST_IPV6 } from './test-addresses.js';

export interface ServeRig {
  readonly dns: DnsFixture;
  readonly smtp: SmtpFixture;
  readonly serve: ServeProcess;
  /** Base URL of the --http listener, when one was asked for. */
  readonly http: string | undefined;
  close(): Promise<void>;
}

export async function startServeRig(args: string[] = [], listen = 'inet:0@127.0.0.1'): Promise<ServeRig> {
  const dns = await startDnsFixture(cliZone());
  const smtp = await startSmtpFixture('greet', TEST_IPV6);
  const serve = await startServe(['--listen', listen, '--dns', dns.spec, '--probe-port', String(smtp.port), ...args]);
  const bound = (serve.lines.find((l) => l.evt === 'listening') as { http?: string }).http;
  return {
    dns,
    smtp,
    serve,
    http: bound ? `http://${bound}` : undefined,
    async close() {
      await serve.stop();
      await dns.close();
      await smtp.close();
    },
  };
}
