/**
 * The text log format (log_format: text): one pino JSON line turned into a line an administrator reads in
 * mail.log — `warn: reload failed: … evt=reload-failed file=/etc/mx4map/mx4map.yml`. The message first, then
 * the fields as key=value (quoted when they hold spaces, JSON for lists and objects).
 *
 * Under journald (stdout is the journal stream, see systemd.exec(5) $JOURNAL_STREAM) each line starts with the
 * sd-daemon priority prefix, `<4>` for a warning, so the journal and syslog's mail.log keep the level; time
 * and pid are left to the journal. Elsewhere the line starts with the time.
 */
import { fstatSync } from 'node:fs';

/** sd-daemon(3) priorities of pino's levels. */
const PRIORITY: Readonly<Record<string, number>> = { trace: 7, debug: 7, info: 6, warn: 4, error: 3, fatal: 2 };
/** Fields every line has, written in their own places (or left to the journal). */
const PLACED = new Set(['level', 'time', 'pid', 'msg']);

function fieldValue(value: unknown): string {
  if (typeof value === 'string') return value !== '' && /^[^\s"=\\]+$/.test(value) ? value : JSON.stringify(value);
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/** One JSON line (with its newline) as a text line; a line that is not a JSON object is passed on as it is. */
export function textLine(json: string, journal: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return json;
  const level = typeof entry.level === 'string' ? entry.level : 'info';
  let line = journal ? `<${PRIORITY[level] ?? 6}>${level}: ` : `${String(entry.time ?? '')} ${level}: `;
  line += typeof entry.msg === 'string' ? entry.msg.replace(/[\r\n]+/g, ' ') : '';
  for (const key of Object.keys(entry)) if (!PLACED.has(key)) line += ` ${key}=${fieldValue(entry[key])}`;
  return `${line}\n`;
}

/** Whether file descriptor `fd` is the journal stream systemd connected (its device:inode in $JOURNAL_STREAM). */
export function isJournalStream(fd: number, env: NodeJS.ProcessEnv = process.env): boolean {
  const stream = env.JOURNAL_STREAM;
  if (!stream) return false;
  try {
    const stat = fstatSync(fd);
    return stream === `${stat.dev}:${stat.ino}`;
  } catch {
    return false;
  }
}
