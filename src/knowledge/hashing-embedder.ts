// A deterministic embedder with no model: feature hashing of word unigrams and bigrams into a
// fixed number of dimensions. It stands in for an embedding model in tests and in the retrieval
// benchmark's hybrid plumbing run; it is not a semantic model.
import { createHash } from "node:crypto";
import { tokenizeWords } from "./analyze-text.ts";
import type { Embedder } from "./embedder.ts";

export function createHashingEmbedder(dimensions = 256): Embedder {
  const slots = new Map<string, [number, number]>();
  const slotOf = (feature: string): [number, number] => {
    let slot = slots.get(feature);
    if (!slot) {
      const digest = createHash("md5").update(feature).digest();
      slot = [digest.readUInt32LE(0) % dimensions, digest[4] !== undefined && digest[4] & 1 ? 1 : -1];
      if (slots.size < 1_000_000) slots.set(feature, slot);
    }
    return slot;
  };
  return {
    model: `hashing-${dimensions}`,
    async embed(texts, signal) {
      signal?.throwIfAborted();
      return texts.map((text) => {
        const vector = new Array<number>(dimensions).fill(0);
        const words = tokenizeWords(text);
        words.forEach((word, index) => {
          for (const feature of index > 0 ? [word, `${words[index - 1]} ${word}`] : [word]) {
            const [position, sign] = slotOf(feature);
            vector[position] = (vector[position] ?? 0) + sign;
          }
        });
        return vector;
      });
    },
  };
}
