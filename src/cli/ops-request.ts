/**
 * GET from a running server's ops listener, for the commands that read it (export, status, lookup --server):
 * a listener that cannot be reached is one line naming the fix (ClientError: exit 2), never a stack trace.
 */
import { ClientError } from '../errors.js';
import { NO_OPS_LISTENER_HINT, httpBaseUrl } from '../ops/http.js';

export async function opsGet(server: string, path: string, timeoutMs = 10_000): Promise<Response> {
  const url = `${httpBaseUrl(server)}${path}`;
  try {
    return await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code === 'ECONNREFUSED' ? `connection refused (${NO_OPS_LISTENER_HINT})` : (cause?.message ?? (err as Error).message);
    throw new ClientError(`cannot fetch ${url}: ${why}`);
  }
}
