// Fair sharing inside each evaluation step of one node-llama-cpp context: installs batch-priority.ts's
// weighted split as the context's `batching.itemPrioritizationStrategy` and tells it, for every batch
// item, which tenant the sequence it came from is working for, weighted by that tenant's share among
// the tenants in the step (flatten-tenant-shares.ts). Admission (the dispatcher's fair queue)
// decides which requests hold a sequence; this decides how a step's `batchSize` tokens are split among
// them, so one tenant's long prompts cannot hold back another's prompt processing, whatever the number
// of sequences each holds. Runs inside a runner process; must not be imported by the server.
//
// Why it reads one private field. node-llama-cpp (3.x) hands the hook `BatchItem`s that carry only
// `tokens`, `logits` and `evaluationPriority` (a 1–5 level): nothing says which sequence an item is
// from. In `LlamaContext.dispatchPendingBatch` (dist/evaluator/LlamaContext/LlamaContext.js,
// `getOrderedQueuedDecodes`) item i is built, in the same synchronous run that calls the hook, from
// `this._queuedDecodes[i]`, with `tokens: queuedDecode.tokens`; each queued decode also carries the
// `tokenMeter` of the sequence that queued it (LlamaContextSequence `_decodeTokens` passes its own,
// which `sequence.tokenMeter` returns publicly). So an item is traced to its sequence by reading
// `_queuedDecodes` and checking, every step, that it lines up with the items: same length and the
// very same `tokens` array (object identity) at each index. The token arrays themselves cannot serve
// as keys: node-llama-cpp copies them before queueing and re-slices them after every partial step.
// If the check ever fails (a node-llama-cpp release changed those internals), nothing is guessed:
// every item then counts as its own tenant (fair between sequences, which is what node-llama-cpp's
// default `maximumParallelism` intends), `stats.untracedSteps` counts it and `warn` is called once. A
// sequence assigned no owner is likewise a tenant of its own, with weight 1 at the top of the hierarchy.
// What would remove the private read: a sequence reference (or a caller-set tag) on `BatchItem`.
//
// Two more things learned from node-llama-cpp 3.22.1 that bear on fairness:
// - Its default strategy, `maximumParallelism`, gives out more tokens than a step holds (its top-up
//   passes never lower `leftFreeTokens`), and `fitQueuedDecodesToABatch` then fills the step in list
//   order, so the first long prompt takes whole steps and the others wait for it. This strategy never
//   exceeds `size`, so it also fixes that for requests without an owner.
// - A request given a sequence that still holds an earlier request's tokens must erase them first,
//   under the context lock that `dispatchPendingBatch` holds for as long as any decode is queued. The
//   runner does that erase through `decodeLoop.withContextLock`, which lets it in between two steps
//   (full-decode-steps.ts); without it such a newcomer joined no step until every running request
//   had finished.
import type {
  BatchItem,
  CustomBatchingPrioritizationStrategy,
  LlamaContext,
  LlamaContextSequence,
} from "node-llama-cpp";
import { type BatchOwner, createFairBatchPrioritization } from "../../scheduler/batch-priority.ts";
import { flattenTenantShares, type TenantPlace } from "../../scheduler/flatten-tenant-shares.ts";
import type { WorkShare } from "../engine.ts";
import { DecodeLoopControl, type HoldableDecode } from "./full-decode-steps.ts";

/** One step as planned: what each item asked for and was given. For tests and tracing. */
export interface FairBatchingStep {
  /** Tokens the step may hold (the context's batch size). */
  size: number;
  /** False when the items could not be traced to their sequences (see the module comment). */
  traced: boolean;
  items: {
    /** The tenant key, or undefined for a sequence with no owner (or an untraced step). */
    owner: string | undefined;
    /** The owner's share of this step among the owners in it. */
    share: number;
    pending: number;
    granted: number;
  }[];
}

export interface FairBatchingStats {
  /** Steps whose items were all traced to their sequences. */
  tracedSteps: number;
  /** Steps planned without owners because tracing failed; should stay 0. */
  untracedSteps: number;
}

export interface FairBatchingOptions {
  /** Called with every planned step. Default: none. */
  onStep?: (step: FairBatchingStep) => void;
  /** Called once, the first time items cannot be traced. Default: none. */
  warn?: (message: string) => void;
}

/** The part of node-llama-cpp's private queued decode that tracing reads. */
interface QueuedDecodeView extends HoldableDecode {
  readonly sequenceId?: unknown;
  readonly tokens?: unknown;
  readonly tokenMeter?: unknown;
}

export class FairBatching {
  /** Pass as `createContext({batching: {itemPrioritizationStrategy: fairBatching.strategy}})`. */
  readonly strategy: CustomBatchingPrioritizationStrategy;
  /** Keeps steps full and lets requests that need the context lock in between steps (full-decode-steps.ts). */
  readonly decodeLoop = new DecodeLoopControl();
  readonly #options: FairBatchingOptions;
  /** Owner of the request each sequence serves, keyed by the sequence's `tokenMeter`. */
  readonly #owners = new Map<object, WorkShare>();
  /** Owner and share of each item of the step being planned. */
  readonly #stepOwners = new Map<BatchItem, BatchOwner>();
  readonly #prioritize = createFairBatchPrioritization<BatchItem>((item) => this.#stepOwners.get(item));
  #context: LlamaContext | undefined;
  #tracedSteps = 0;
  #untracedSteps = 0;
  #warned = false;

  constructor(options: FairBatchingOptions = {}) {
    this.#options = options;
    this.strategy = ({ items, size }) => this.#plan(items, size);
  }

  /** The context whose strategy this is; until it is attached, no item can be traced. */
  attach(context: LlamaContext): void {
    this.#context = context;
    this.decodeLoop.attach(context);
  }

  /**
   * Marks `sequence` as working for `owner` until the returned function is called. A sequence with
   * no owner (undefined) is a tenant of its own.
   */
  assign(sequence: LlamaContextSequence, owner: WorkShare | undefined): () => void {
    const meter = sequence.tokenMeter;
    if (owner === undefined) {
      this.#owners.delete(meter);
      return () => {};
    }
    this.#owners.set(meter, owner);
    return () => {
      if (this.#owners.get(meter) === owner) this.#owners.delete(meter);
    };
  }

  get stats(): FairBatchingStats {
    return { tracedSteps: this.#tracedSteps, untracedSteps: this.#untracedSteps };
  }

  #plan(items: readonly BatchItem[], size: number) {
    const queued = readQueuedDecodes(this.#context);
    const traced = this.#traceOwners(items, queued);
    if (traced) this.#tracedSteps += 1;
    else {
      this.#untracedSteps += 1;
      if (!this.#warned) {
        this.#warned = true;
        this.#options.warn?.(
          "fair batching cannot trace node-llama-cpp batch items to their sequences; steps are now " +
            "shared per sequence, not per tenant (was node-llama-cpp upgraded?)",
        );
      }
    }
    // Shares are computed over the tenants in this step only: those are the ones competing for it.
    const places: TenantPlace[] = items.map(
      (item, index) => traced?.get(item) ?? { key: `\u0000sequence:${index}`, groups: [] },
    );
    const shares = flattenTenantShares(places);
    this.#stepOwners.clear();
    for (const [index, item] of items.entries()) {
      const key = places[index]?.key ?? "";
      this.#stepOwners.set(item, { key, weight: shares.get(key) ?? 1 });
    }
    const planned = this.#prioritize({ items, size });
    if (traced && queued) {
      // llama.cpp (without a unified KV cache) puts tokens of several sequences into one pass only
      // while their ids go up by one in batch order (`split_equal`, "accept only increasing sequence
      // ids"); in any other order a step of 4 sequences ran as 4 passes, 36 instead of 21 ms. The
      // amounts are already within the step's size, so the order changes nothing else.
      const sequenceIds = new Map(items.map((item, index) => [item, toSequenceId(queued[index])]));
      planned.sort((a, b) => (sequenceIds.get(a.item) ?? 0) - (sequenceIds.get(b.item) ?? 0));
      // Every sequence of this step gets its next token into the next one (full-decode-steps.ts).
      const firstGranted = planned.find((entry) => entry.processAmount > 0)?.item;
      const decode = firstGranted && queued[items.indexOf(firstGranted)];
      if (decode) this.decodeLoop.holdAfterStep(decode);
    }
    const onStep = this.#options.onStep;
    if (onStep) {
      const granted = new Map(planned.map((entry) => [entry.item, entry.processAmount]));
      onStep({
        size,
        traced: traced !== undefined,
        items: items.map((item) => ({
          owner: traced?.get(item)?.key,
          share: this.#stepOwners.get(item)?.weight ?? 0,
          pending: item.tokens.length,
          granted: granted.get(item) ?? 0,
        })),
      });
    }
    this.#stepOwners.clear();
    return planned;
  }

  /** Item → owner for this step (items of unowned sequences left out), or undefined if untraceable. */
  #traceOwners(
    items: readonly BatchItem[],
    queued: readonly QueuedDecodeView[] | undefined,
  ): Map<BatchItem, WorkShare> | undefined {
    if (queued === undefined || queued.length !== items.length) return undefined;
    const owners = new Map<BatchItem, WorkShare>();
    for (const [index, item] of items.entries()) {
      const decode = queued[index];
      if (decode?.tokens !== item.tokens) return undefined;
      const meter = decode.tokenMeter;
      const owner = typeof meter === "object" && meter !== null ? this.#owners.get(meter) : undefined;
      if (owner !== undefined) owners.set(item, owner);
    }
    return owners;
  }
}

/** node-llama-cpp's private `LlamaContext._queuedDecodes`, when it is (still) an array. */
function readQueuedDecodes(context: LlamaContext | undefined): readonly QueuedDecodeView[] | undefined {
  if (context === undefined) return undefined;
  const queued: unknown = Reflect.get(context, "_queuedDecodes");
  return Array.isArray(queued) ? (queued as QueuedDecodeView[]) : undefined;
}

/** A queued decode's sequence id, or 0 if node-llama-cpp no longer has one there (then order is kept). */
function toSequenceId(decode: QueuedDecodeView | undefined): number {
  return typeof decode?.sequenceId === "number" ? decode.sequenceId : 0;
}
