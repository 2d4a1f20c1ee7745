/**
 * What GET /decisions serves: the forced decisions held now, rendered without holding the event loop.
 * With 200,000 forced decisions one GET used to stall cache hits 372 ms (the JSON built and sorted in one
 * pass), and any local user could poll it. Now the rendering walks the cache in slices between turns of
 * the event loop, at most one rendering runs at a time (concurrent GETs share it), a rendering is reused
 * for RENDER_REUSE_MS, and the response is written in slices too, a page at a time if asked
 * (`?offset=N&limit=M`). Unsorted: `mx4map export` sorts, off the server's loop.
 */
import type { ServerResponse } from 'node:http';
import type { ExportedDecision } from '../engine/decision.js';

/** Decisions rendered (or written) between two turns of the event loop. */
const SLICE = 2000;
/** How long a rendering answers further GETs. */
export const RENDER_REUSE_MS = 1000;

export class DecisionsView {
  private rendering: Promise<readonly string[]> | undefined;
  private rendered: { at: number; parts: readonly string[] } | undefined;

  constructor(
    private readonly source: () => Iterable<ExportedDecision>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Each decision as its JSON text, from a rendering at most RENDER_REUSE_MS old. */
  parts(): Promise<readonly string[]> {
    if (this.rendered && this.now() - this.rendered.at < RENDER_REUSE_MS) return Promise.resolve(this.rendered.parts);
    this.rendering ??= this.render().finally(() => (this.rendering = undefined));
    return this.rendering;
  }

  private async render(): Promise<readonly string[]> {
    const parts: string[] = [];
    // The cache is walked across turns while lookups go on: a hit moves its entry to the end (LRU), where
    // the walk meets it a second time. Each domain is listed once.
    const seen = new Set<string>();
    for (const decision of this.source()) {
      if (seen.has(decision.domain)) continue;
      seen.add(decision.domain);
      parts.push(JSON.stringify(decision));
      if (parts.length % SLICE === 0) await turn();
    }
    this.rendered = { at: this.now(), parts };
    return parts;
  }
}

/** `offset` and `limit` from a query string; a problem when they are not whole numbers. */
export function parsePage(query: string): { offset: number; limit: number } | { problem: string } {
  const params = new URLSearchParams(query);
  const read = (name: string, fallback: number): number | undefined => {
    const text = params.get(name);
    if (text === null) return fallback;
    return /^\d{1,9}$/.test(text) ? Number(text) : undefined;
  };
  const offset = read('offset', 0);
  const limit = read('limit', Number.MAX_SAFE_INTEGER);
  if (offset === undefined || limit === undefined) return { problem: 'offset and limit must be whole numbers' };
  return { offset, limit };
}

/** Writes a JSON array of `parts`, a slice at a time, waiting for the client to drain. */
export async function writeJsonArray(res: ServerResponse, parts: readonly string[]): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('[');
  for (let i = 0; i < parts.length; i += SLICE) {
    const chunk = `${i === 0 ? '' : ','}${parts.slice(i, i + SLICE).join(',')}`;
    if (!res.write(chunk))
      await new Promise<void>((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    if (res.destroyed) return;
    await turn();
  }
  res.end(']\n');
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
