// Hybrid fusion of ranked lists (lexical and dense), pure functions. Reciprocal rank fusion uses
// ranks only, so it needs no score calibration; linear fusion min-max normalizes each list's scores
// to [0, 1] and adds them with weights. A document missing from a list gets nothing from it.

export interface RankedItem<Id> {
  id: Id;
  score: number;
}

export type FusionOptions =
  | {
      method: "rrf";
      /** Rank offset; larger values flatten the difference between top ranks. Default 60. */
      k?: number;
      /** Weight of each list, in the order given. Default 1 each. */
      weights?: readonly number[];
    }
  | {
      method: "linear";
      /** Weight of each list, in the order given. Default 1 each. */
      weights?: readonly number[];
    };

export const defaultFusion: FusionOptions = { method: "rrf", k: 60 };

/** Fuses lists of items (each sorted best first) into one list, best first; ties keep first-seen order. */
export function fuseRankings<Id>(
  lists: readonly (readonly RankedItem<Id>[])[],
  options: FusionOptions = defaultFusion,
): RankedItem<Id>[] {
  const scores = new Map<Id, number>();
  lists.forEach((list, listIndex) => {
    const weight = options.weights?.[listIndex] ?? 1;
    if (weight === 0) return;
    if (options.method === "rrf") {
      const k = options.k ?? 60;
      list.forEach((item, rank) => {
        scores.set(item.id, (scores.get(item.id) ?? 0) + weight / (k + rank + 1));
      });
      return;
    }
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const item of list) {
      min = Math.min(min, item.score);
      max = Math.max(max, item.score);
    }
    const range = max - min;
    for (const item of list) {
      const normalized = range > 0 ? (item.score - min) / range : 1;
      scores.set(item.id, (scores.get(item.id) ?? 0) + weight * normalized);
    }
  });
  return Array.from(scores, ([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score);
}
