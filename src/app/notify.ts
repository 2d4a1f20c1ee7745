/**
 * Readiness for systemd (Type=notify): `systemctl start` and `restart` return once mx4map is answering.
 * Node cannot send on a UNIX datagram socket, so the message goes through systemd-notify(1), which waits
 * until systemd has processed it; the unit sets NotifyAccess=all because the sender is that child.
 */
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';

export type NotifyState = 'READY=1' | 'STOPPING=1';

/** Tells systemd a state change when started by it (NOTIFY_SOCKET set); otherwise does nothing. */
export function notifySystemd(state: NotifyState, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!env.NOTIFY_SOCKET) return Promise.resolve();
  const args = state === 'READY=1' ? ['--ready', `--pid=${process.pid}`] : [state];
  return new Promise((resolve) => {
    const child = spawn('systemd-notify', args, { env: { ...env }, stdio: 'ignore' });
    child.once('error', (err: NodeJS.ErrnoException) => {
      log.warn({ evt: 'notify-failed', state, error: err.code ?? err.message }, 'could not tell systemd (is systemd-notify installed?)');
      resolve();
    });
    child.once('exit', (code) => {
      if (code !== 0) log.warn({ evt: 'notify-failed', state, status: code }, 'systemd-notify failed');
      resolve();
    });
  });
}
