/** A decider whose answers the test releases by hand, to control timing and ordering exactly. */
import type { Decider, Decision } from '../../src/engine/decision.js';

export interface HeldDecider {
  readonly decider: Decider;
  /** Domains asked, in order. */
  readonly asked: string[];
  /** Answers the oldest unanswered question about `domain`. */
  release(domain: string, decision: Decision): void;
  /** Answers every unanswered question. */
  releaseAll(decision: Decision): void;
  readonly waiting: number;
}

export function heldDecider(): HeldDecider {
  const asked: string[] = [];
  const held: Array<{ domain: string; resolve: (d: Decision) => void }> = [];
  return {
    asked,
    decider: {
      decide(domain) {
        asked.push(domain);
        return new Promise((resolve) => held.push({ domain, resolve }));
      },
    },
    release(domain, decision) {
      const i = held.findIndex((h) => h.domain === domain);
      if (i < 0) throw new Error(`nothing held for ${domain}`);
      held.splice(i, 1)[0].resolve(decision);
    },
    releaseAll(decision) {
      for (const h of held.splice(0)) h.resolve(decision);
    },
    get waiting() {
      return held.length;
    },
  };
}

export const force = (...addresses: string[]): Decision => ({ action: 'force-ipv4', triggers: ['cname-mx'], routes: [addresses] });
