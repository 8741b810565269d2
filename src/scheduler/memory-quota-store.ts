// The in-memory QuotaStore: usage lost on restart, fine for one process and for tests. Atomic because
// `apply` runs synchronously between reading and writing, with no await in between.
import { createEmptyScopeUsage, type QuotaStore, type ScopeUsage } from "./quota-store.ts";

export class MemoryQuotaStore implements QuotaStore {
  readonly #usage = new Map<string, ScopeUsage>();

  async update<T>(
    scopes: readonly string[],
    apply: (usage: ReadonlyMap<string, ScopeUsage>) => T,
  ): Promise<T> {
    const working = new Map<string, ScopeUsage>();
    for (const scope of scopes)
      working.set(scope, structuredClone(this.#usage.get(scope) ?? createEmptyScopeUsage()));
    const result = apply(working);
    for (const [scope, usage] of working) {
      const idle = usage.reservedRequests === 0 && usage.minuteBuckets.length === 0 && usage.dayTokens === 0;
      if (idle) this.#usage.delete(scope);
      else this.#usage.set(scope, usage);
    }
    return result;
  }

  /** Scopes with any usage kept, for tests and diagnostics. */
  get size(): number {
    return this.#usage.size;
  }
}
