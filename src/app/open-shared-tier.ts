/** The shared tier a configuration asks for (`shared_cache`), or none. */
import type { Logger } from 'pino';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/options.js';
import { ConfigError } from '../errors.js';
import { RedisTier } from '../shared/redis-tier.js';
import type { SharedTier } from '../shared/shared-tier.js';
import { ValueSeal, readSealSecret } from '../shared/value-seal.js';

/** A command written to Redis and not answered in this long fails (and marks the tier down). */
export const SHARED_COMMAND_TIMEOUT_MS = 1000;

/** The first line of the password file; throws ConfigError naming the file when it cannot be read. */
export function readPasswordFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n')[0].replace(/\r$/, '');
  } catch (err) {
    throw new ConfigError(`shared_cache_password_file ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** The fleet's secret that seals shared values; throws ConfigError when shared_cache has none or it is unusable. */
export function readFleetSecret(config: Config): Buffer {
  if (config.sharedCacheKeyFile === '') {
    throw new ConfigError(
      'shared_cache needs shared_cache_key_file: a file whose first line is a secret shared by the fleet (openssl rand -base64 32), so that only values an instance wrote are believed',
    );
  }
  return readSealSecret(config.sharedCacheKeyFile);
}

export function openSharedTier(config: Config, log: Logger): SharedTier | undefined {
  if (config.sharedCache === undefined) return undefined;
  return new RedisTier(
    {
      spec: config.sharedCache.spec,
      seal: new ValueSeal(readFleetSecret(config)),
      ...(config.sharedCachePasswordFile !== '' ? { password: readPasswordFile(config.sharedCachePasswordFile) } : {}),
      commandTimeoutMs: SHARED_COMMAND_TIMEOUT_MS,
      shown: config.sharedCache.shown,
    },
    log,
  );
}
