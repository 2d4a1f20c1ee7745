import type { CommandModule } from 'yargs';
import { runDaemon } from '../app/daemon.js';
import { rawFlagValues, withConfigFlags } from './config-flags.js';

export const serveCommand: CommandModule = {
  command: 'serve',
  describe: 'Run the socketmap server',
  builder: (yargs) => withConfigFlags(yargs),
  handler: async (argv) => {
    await runDaemon({ flags: rawFlagValues(argv), configPath: argv.config as string | undefined });
    process.exit(0);
  },
};
