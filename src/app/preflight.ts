/**
 * The checks that need the file system or the system's databases, made the same way by `check-config` and
 * by `serve` before it listens, so that check-config's "configuration OK" means serve will start: pattern
 * files readable and valid, the snapshot's directory writable, UNIX socket directories present, the socket
 * group known and one this process may give a file to, DNS servers configured. A problem is one line naming
 * what to fix.
 */
import { access, constants } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Config } from '../config/options.js';
import { ConfigError, Mx4mapError } from '../errors.js';
import { buildDomainSet } from '../domain/domain-set.js';
import { directoryProblem } from '../snapshot/file.js';
import { resolveGroup } from '../server/unix-socket.js';
import { systemDnsServers } from '../dns/servers.js';
import { readFleetSecret, readPasswordFile } from './open-shared-tier.js';

export interface ProcessIdentity {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

export function currentIdentity(): ProcessIdentity {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, groups: process.getgroups?.() ?? [] };
}

export interface PreflightOptions {
  /** Sockets come from systemd: the listen option and its directories are not used. */
  readonly activated?: boolean;
  readonly identity?: ProcessIdentity;
  readonly groupFile?: string;
}

/** Every problem found, in option order; empty when serve can start with this configuration. */
export async function preflight(config: Config, options: PreflightOptions = {}): Promise<string[]> {
  const problems: string[] = [];
  const attempt = collector(problems);
  attempt(() => buildDomainSet(config.never, 'never'));
  attempt(() => buildDomainSet(config.forceIpv4, 'force_ipv4'));
  attempt(() => buildDomainSet(config.localDomains, 'local_domains'));
  attempt(() => buildDomainSet(config.strictReceivers, 'strict_receivers'));
  return [...problems, ...(await systemProblems(config, options))];
}

/** Runs a check, keeping a configuration problem it throws as one line. */
function collector(problems: string[]): (check: () => void) => void {
  return (check) => {
    try {
      check();
    } catch (err) {
      if (!(err instanceof Mx4mapError)) throw err;
      problems.push(err.message);
    }
  };
}

/**
 * The checks other than the pattern files: what a reload checks besides reading those files, which it does
 * in slices so a long file never holds the event loop.
 */
export async function systemProblems(config: Config, options: PreflightOptions = {}): Promise<string[]> {
  const problems: string[] = [];
  const attempt = collector(problems);
  if (!options.activated) {
    const unix = config.listen.filter((e) => e.kind === 'unix');
    for (const endpoint of unix) {
      const dir = dirname(endpoint.path);
      try {
        await access(dir, constants.W_OK | constants.X_OK);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        problems.push(
          `listen ${endpoint.spec}: ${code === 'ENOENT' ? `the directory ${dir} does not exist` : `the directory ${dir} is not writable (${code ?? 'error'})`}`,
        );
      }
    }
    if (unix.length > 0 && config.socketGroup !== '') attempt(() => checkGroup(config.socketGroup, options.identity ?? currentIdentity(), options.groupFile));
  }

  if (config.cacheSnapshot !== '') {
    const problem = await directoryProblem(config.cacheSnapshot);
    if (problem) problems.push(`cache_snapshot ${config.cacheSnapshot}: ${problem}`);
  }
  if (config.sharedCachePasswordFile !== '') attempt(() => readPasswordFile(config.sharedCachePasswordFile));
  if (config.sharedCache !== undefined) attempt(() => readFleetSecret(config));
  if (config.dns.length === 0 && systemDnsServers().length === 0) problems.push('dns: none given and the system has none (resolv.conf): give --dns HOST:PORT');
  return problems;
}

/** The group exists, and this process can give a file to it (root, or a member: chown(2)). */
function checkGroup(group: string, identity: ProcessIdentity, groupFile?: string): void {
  let gid: number;
  try {
    gid = resolveGroup(group, groupFile);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (identity.uid === 0 || identity.gid === gid || identity.groups.includes(gid)) return;
  throw new ConfigError(
    `socket_group "${group}": mx4map runs as uid ${identity.uid}, which is not in that group, so it cannot give the socket to it; add SupplementaryGroups=${group} to the unit, or leave socket_group empty`,
  );
}
