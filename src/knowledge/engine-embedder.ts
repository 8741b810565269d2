// An `Embedder` backed by an embedding model run by the engine: texts go to `engine.embed` in
// batches, so a knowledge base created with an embedding model gets dense vectors (hybrid search).
// The model is resolved on first use, so a server starts even when the model is missing; a search
// or ingestion then fails with `model_not_found`. Depends on the engine interface only.
import type { Engine, ModelHandle } from "../engine/engine.ts";
import type { Embedder } from "./embedder.ts";

export interface EngineEmbedderOptions {
  engine: Pick<Engine, "embed">;
  /** The model reference recorded with the vectors, e.g. `minilm:latest`. */
  model: string;
  /** Resolves the reference to a model in the store (and checks any serving policy). */
  resolveModel: (ref: string) => Promise<ModelHandle>;
  /** Texts per engine call. Default 32. */
  batchSize?: number;
}

export function createEngineEmbedder(options: EngineEmbedderOptions): Embedder {
  const batchSize = Math.max(1, options.batchSize ?? 32);
  return {
    model: options.model,
    async embed(texts, signal) {
      const handle = await options.resolveModel(options.model);
      const vectors: number[][] = [];
      const abortSignal = signal ?? new AbortController().signal;
      for (let start = 0; start < texts.length; start += batchSize) {
        abortSignal.throwIfAborted();
        const result = await options.engine.embed(
          { model: handle, inputs: texts.slice(start, start + batchSize) },
          abortSignal,
        );
        vectors.push(...result.vectors);
      }
      return vectors;
    },
  };
}
