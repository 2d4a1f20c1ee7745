#!/usr/bin/env node
import { main } from './cli/main.js';

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`mx4map: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(70);
});
