// What the knowledge subsystem needs from an embedding model, and nothing more: the engine (or a
// test double) implements it. Vectors of one knowledge base must all come from the same model.

export interface Embedder {
  /** Identifies the model, e.g. its store digest; recorded with the vectors it produced. */
  readonly model: string;
  /** One vector per text, in order, all of the same length. */
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}
