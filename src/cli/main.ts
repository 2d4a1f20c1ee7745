/**
 * The command line: a thin yargs shell over the same functions the server uses. Every usage or
 * configuration error is one line on stderr and exit status 2.
 */
import yargs from 'yargs';
import { Mx4mapError } from '../errors.js';
import { serveCommand } from './serve.js';
import { queryCommand } from './query.js';
import { checkConfigCommand } from './check-config.js';
import { lookupCommand } from './lookup.js';
import { exportCommand } from './export.js';
import { replayCommand } from './replay.js';

export function usageError(message: string): never {
  process.stderr.write(`mx4map: ${message}\n`);
  process.exit(2);
}

export async function main(args: string[]): Promise<void> {
  try {
    await yargs(args)
      .scriptName('mx4map')
      .command(serveCommand)
      .command(queryCommand)
      .command(lookupCommand)
      .command(replayCommand)
      .command(exportCommand)
      .command(checkConfigCommand)
      .demandCommand(1, 'name a command: serve, query, lookup, replay, export or check-config')
      .strict()
      .env(false)
      .parserConfiguration({ 'camel-case-expansion': false })
      .help()
      .alias('help', 'h')
      .version()
      .wrap(Math.min(120, process.stdout.columns ?? 100))
      .fail((message, err) => {
        if (err) throw err;
        usageError(`${message} (see mx4map --help)`);
      })
      .parseAsync();
  } catch (err) {
    if (err instanceof Mx4mapError) usageError(err.message);
    throw err;
  }
}
