// A token-time model of an inference engine, for scheduler tests and the fairness benchmark: it is NOT
// the real engine. Each `step` runs every active sequence once: prompt tokens are processed in chunks
// that share a per-step token budget (split by a batching strategy such as batch-priority.ts), and each
// sequence whose prompt is done generates one token. A step lasts `baseStepMs + tokenMs × tokens`.
// It keeps no time of its own; the caller advances a clock by what `step` returns.
import type { BatchItemLike, PrioritizedItem } from "./batch-priority.ts";

export interface SimulatedJob {
  promptTokens: number;
  completionTokens: number;
  /** Owner key used by the batching strategy's resolver; opaque to the engine. */
  owner?: string;
  /** After each step in which the job made progress: tokens processed from the prompt and generated. */
  onProgress?: (progress: { promptTokens: number; generatedTokens: number }) => void;
  /** When the first token has been generated (end of the step that finished the prompt). */
  onFirstToken?: () => void;
  /** When the last token has been generated. */
  onDone?: () => void;
}

export interface SimulatedBatchItem extends BatchItemLike {
  readonly job: SimulatedJob;
}

export interface SimulatedEngineOptions {
  /** Sequences that may be active at once; `start` beyond it throws. */
  slots: number;
  /** Tokens one step may process (node-llama-cpp's batch size). Default 512. */
  batchSize?: number;
  /** Fixed cost of a step in ms. Default 20. */
  baseStepMs?: number;
  /** Cost of each token processed in a step, in ms. Default 0.1. */
  tokenMs?: number;
  /** Splits the step's budget among the active sequences (see batch-priority.ts). */
  prioritize: (options: {
    items: readonly SimulatedBatchItem[];
    size: number;
  }) => PrioritizedItem<SimulatedBatchItem>[];
}

interface Sequence {
  job: SimulatedJob;
  promptLeft: number;
  generated: number;
}

export class SimulatedEngine {
  readonly #options: Required<SimulatedEngineOptions>;
  readonly #sequences = new Set<Sequence>();
  #tokensGenerated = 0;
  #tokensProcessed = 0;

  constructor(options: SimulatedEngineOptions) {
    this.#options = { batchSize: 512, baseStepMs: 20, tokenMs: 0.1, ...options };
  }

  get active(): number {
    return this.#sequences.size;
  }

  /** Prompt and generated tokens processed so far. */
  get tokensProcessed(): number {
    return this.#tokensProcessed;
  }

  get tokensGenerated(): number {
    return this.#tokensGenerated;
  }

  /** Starts a job; returns a function that cancels it (its callbacks then never fire again). */
  start(job: SimulatedJob): () => void {
    if (this.#sequences.size >= this.#options.slots)
      throw new Error("No free sequence in the simulated engine.");
    const sequence: Sequence = { job, promptLeft: Math.max(0, job.promptTokens), generated: 0 };
    this.#sequences.add(sequence);
    return () => {
      this.#sequences.delete(sequence);
    };
  }

  /**
   * Runs one step and returns its duration in ms (0 if nothing is active). `advance` is called with the
   * duration before the jobs' callbacks fire, so a caller's clock reads the step's end time in them.
   */
  step(advance?: (durationMs: number) => void): number {
    if (this.#sequences.size === 0) return 0;
    const sequences = [...this.#sequences];
    const items = sequences.map<SimulatedBatchItem>((sequence) => ({
      job: sequence.job,
      tokens: { length: sequence.promptLeft > 0 ? sequence.promptLeft : 1 },
    }));
    const allocation = this.#options.prioritize({ items, size: this.#options.batchSize });
    let processed = 0;
    const finished: Sequence[] = [];
    const events: (() => void)[] = [];
    for (const { item, processAmount } of allocation) {
      const index = items.indexOf(item);
      const sequence = sequences[index];
      if (sequence === undefined || processAmount <= 0) continue;
      const amount = Math.min(processAmount, item.tokens.length);
      processed += amount;
      let promptTokens = 0;
      let generatedTokens = 0;
      if (sequence.promptLeft > 0) {
        promptTokens = amount;
        sequence.promptLeft -= amount;
        // The step that finishes the prompt also samples the first token from its last logits.
        if (sequence.promptLeft === 0) generatedTokens = 1;
      } else generatedTokens = 1;
      if (generatedTokens > 0) {
        sequence.generated += 1;
        this.#tokensGenerated += 1;
      }
      const job = sequence.job;
      const isFirst = generatedTokens > 0 && sequence.generated === 1;
      const isDone = sequence.generated >= job.completionTokens && sequence.promptLeft === 0;
      events.push(() => {
        job.onProgress?.({ promptTokens, generatedTokens });
        if (isFirst) job.onFirstToken?.();
        if (isDone) job.onDone?.();
      });
      if (isDone) finished.push(sequence);
    }
    for (const sequence of finished) this.#sequences.delete(sequence);
    this.#tokensProcessed += processed;
    const durationMs = this.#options.baseStepMs + this.#options.tokenMs * processed;
    advance?.(durationMs);
    for (const event of events) event();
    return durationMs;
  }
}
