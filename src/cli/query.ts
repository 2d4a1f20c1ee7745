/**
 * `mx4map query`: our own `postmap -q`. Sends each key to a running server and prints `KEY<TAB>REPLY`.
 * Exit 0 when every reply is OK, 1 when any is NOTFOUND, 2 on TEMP/TIMEOUT/PERM or a connection failure.
 */
import type { CommandModule } from 'yargs';
import { parseEndpoint } from '../protocol/endpoint.js';
import type { Reply } from '../protocol/socketmap.js';
import { SocketmapClient } from '../client/socketmap-client.js';
import { duration } from '../text/values.js';
import { ConfigError } from '../errors.js';
import { ValueProblem } from '../text/values.js';

export const DEFAULT_CONNECT = 'inet:8425@127.0.0.1';

export function showReply(reply: Reply): string {
  switch (reply.status) {
    case 'OK':
      return `OK ${reply.value}`;
    case 'NOTFOUND':
      return 'NOTFOUND';
    default:
      return `${reply.status} ${reply.reason}`;
  }
}

/** 0 all OK, 1 some NOTFOUND, 2 any TEMP/TIMEOUT/PERM. */
export function exitCodeFor(replies: readonly Reply[]): number {
  if (replies.some((r) => r.status !== 'OK' && r.status !== 'NOTFOUND')) return 2;
  return replies.some((r) => r.status === 'NOTFOUND') ? 1 : 0;
}

function parseTimeout(value: string): number {
  try {
    return duration('ms', 1, 3_600_000).parse(value);
  } catch (err) {
    if (err instanceof ValueProblem) throw new ConfigError(`--timeout ${err.message}`);
    throw err;
  }
}

export const queryCommand: CommandModule = {
  command: 'query <key..>',
  describe: 'Ask a running server, as sendmail or Postfix would',
  builder: (yargs) =>
    yargs
      .positional('key', { type: 'string', array: true, describe: 'keys to look up (a domain, or user@domain as Postfix sends)' })
      .option('connect', { type: 'string', default: DEFAULT_CONNECT, requiresArg: true, describe: 'server socket, in listen syntax' })
      .option('map', { type: 'string', default: 'mailertable', requiresArg: true, describe: 'map name to ask' })
      .option('timeout', { type: 'string', default: '10s', requiresArg: true, describe: 'time allowed for the connection and each reply' }),
  handler: async (argv) => {
    const endpoint = parseEndpoint(argv.connect as string);
    const timeout = parseTimeout(argv.timeout as string);
    const map = argv.map as string;
    if (!/^[\x21-\x7e]+$/.test(map)) throw new ConfigError(`--map "${map}" must be a single word of printable characters`);
    const client = await SocketmapClient.connect(endpoint, timeout);
    const replies: Reply[] = [];
    try {
      for (const key of (argv.key as string[]).map(String)) {
        const reply = await client.request(map, key);
        replies.push(reply);
        process.stdout.write(`${key}\t${showReply(reply)}\n`);
      }
    } finally {
      client.close();
    }
    process.exitCode = exitCodeFor(replies);
  },
};
