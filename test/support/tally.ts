import type { AnswerTally } from '../../src/maps/registry';

/** An AnswerTally that hands every answer counted to `record`. */
export function recordingTally(record: (map: string, answer: string, reason: string, ms: number) => void): AnswerTally {
  return { cell: (map, answer, reason) => ({ add: (ms) => record(map, answer, reason, ms) }) };
}
