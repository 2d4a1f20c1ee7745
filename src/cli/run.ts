/** The command line, run: what `mx4map` does, whether started from the modules or from dist/mx4map.cjs (src/boot.ts). */
import { main } from './main.js';

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`mx4map: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(70);
});
