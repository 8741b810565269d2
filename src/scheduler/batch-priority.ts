// Fair sharing inside each engine step: a batching prioritisation strategy in the shape of
// node-llama-cpp's `itemPrioritizationStrategy` hook (`({items, size}) => {item, processAmount}[]`).
// Admission (fair-scheduler.ts) decides who runs; this decides how a step's token budget is split among
// the sequences that run, so one tenant's long prompt cannot hold everyone else's prompt processing.
// Pure function on structural types; it must not import node-llama-cpp, so it is testable on plain objects.
//
// Rule: weighted max-min fairness ("water-filling") in two levels. The budget `size` is split across
// owners (tenants) in proportion to their weight, but no owner gets more than it asks for and what it
// leaves over is shared by the rest (work-conserving). Each owner's part is then split equally across
// its items the same way. Decode steps ask for 1 token, so they are always served before prompt chunks
// are trimmed. Integer rounding hands remaining tokens to the largest fractional claims, so the total
// never exceeds `size` and no item gets more than it has.
//
// node-llama-cpp's batch items do not say which sequence they belong to (they carry only `tokens`,
// `logits` and `evaluationPriority`), so the caller supplies `resolveOwner`; an item it cannot place
// forms its own owner of weight 1.

/** The part of node-llama-cpp's `BatchItem` this strategy reads. */
export interface BatchItemLike {
  readonly tokens: { readonly length: number };
}

/** Which tenant an item is work for, and that tenant's weight (e.g. `FairScheduler.getShare`). */
export interface BatchOwner {
  key: string;
  /** Finite and > 0; anything else counts as 1. */
  weight: number;
}

export interface PrioritizedItem<T> {
  item: T;
  processAmount: number;
}

export type FairBatchPrioritization<T extends BatchItemLike> = (options: {
  items: readonly T[];
  size: number;
}) => PrioritizedItem<T>[];

/**
 * Creates the strategy. With node-llama-cpp:
 * `batching: {itemPrioritizationStrategy: createFairBatchPrioritization<BatchItem>(resolveOwner)}`.
 * Items that get no tokens this step are left out of the result (node-llama-cpp would round 0 up to 1).
 */
export function createFairBatchPrioritization<T extends BatchItemLike>(
  resolveOwner: (item: T) => BatchOwner | undefined,
): FairBatchPrioritization<T> {
  return ({ items, size }) => {
    const owners = new Map<string, { weight: number; indexes: number[] }>();
    items.forEach((item, index) => {
      const owner = resolveOwner(item);
      const key = owner === undefined ? `\u0000unowned:${index}` : `owner:${owner.key}`;
      const weight =
        owner !== undefined && Number.isFinite(owner.weight) && owner.weight > 0 ? owner.weight : 1;
      const group = owners.get(key);
      if (group === undefined) owners.set(key, { weight, indexes: [index] });
      else group.indexes.push(index);
    });
    const groups = [...owners.values()];
    const demand = (index: number) => items[index]?.tokens.length ?? 0;
    const groupBudgets = fillByWeight(
      groups.map((group) => group.indexes.reduce((sum, index) => sum + demand(index), 0)),
      groups.map((group) => group.weight),
      Math.max(0, Math.floor(size)),
    );
    const amounts = new Array<number>(items.length).fill(0);
    groups.forEach((group, groupIndex) => {
      const split = fillByWeight(
        group.indexes.map(demand),
        group.indexes.map(() => 1),
        groupBudgets[groupIndex] ?? 0,
      );
      group.indexes.forEach((itemIndex, position) => {
        amounts[itemIndex] = split[position] ?? 0;
      });
    });
    const result: PrioritizedItem<T>[] = [];
    items.forEach((item, index) => {
      const processAmount = amounts[index] ?? 0;
      if (processAmount > 0) result.push({ item, processAmount });
    });
    return result;
  };
}

/** Integer weighted max-min fair split of `budget` among claims `demands` (see the module comment). */
function fillByWeight(demands: readonly number[], weights: readonly number[], budget: number): number[] {
  const given = demands.map(() => 0);
  let remaining = budget;
  let open = demands.map((_, index) => index).filter((index) => (demands[index] ?? 0) > 0);
  while (remaining > 0 && open.length > 0) {
    const totalWeight = open.reduce((sum, index) => sum + (weights[index] ?? 1), 0);
    const perWeight = remaining / totalWeight;
    const want = (index: number) => (demands[index] ?? 0) - (given[index] ?? 0);
    const satisfied = open.filter((index) => want(index) <= perWeight * (weights[index] ?? 1));
    if (satisfied.length > 0) {
      for (const index of satisfied) {
        remaining -= want(index);
        given[index] = demands[index] ?? 0;
      }
      open = open.filter((index) => !satisfied.includes(index));
      continue;
    }
    // Nobody is satisfied by a fair part: give each its whole tokens, then the rest by largest fraction.
    const fractions = open.map((index) => {
      const exact = perWeight * (weights[index] ?? 1);
      const whole = Math.min(Math.floor(exact), want(index));
      given[index] = (given[index] ?? 0) + whole;
      remaining -= whole;
      return { index, fraction: exact - whole };
    });
    fractions.sort((a, b) => b.fraction - a.fraction || a.index - b.index);
    for (const { index } of fractions) {
      if (remaining <= 0) break;
      if (want(index) <= 0) continue;
      given[index] = (given[index] ?? 0) + 1;
      remaining -= 1;
    }
    break;
  }
  return given;
}
