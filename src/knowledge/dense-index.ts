// Exact nearest-neighbour search over a knowledge base's stored vectors: a brute-force dot product
// over one contiguous float32 matrix (vectors are unit length, so this is cosine similarity). At
// 384 dimensions a scan of 100k chunks takes tens of milliseconds and needs no extension; the
// matrix is cached per knowledge base and reloaded when its generation changes.

import type { RankedItem } from "./fuse-rankings.ts";
import type { ChunkId, KnowledgeBase, KnowledgeStore } from "./knowledge-store.ts";

interface CachedMatrix {
  generation: number;
  chunkIds: ChunkId[];
  matrix: Float32Array;
  dimensions: number;
}

export class DenseIndex {
  private readonly cache = new Map<number, CachedMatrix>();

  constructor(private readonly store: KnowledgeStore) {}

  /** The `limit` chunks most similar to a unit-length query vector, best first. */
  search(knowledgeBase: KnowledgeBase, query: Float32Array, limit: number): RankedItem<ChunkId>[] {
    let cached = this.cache.get(knowledgeBase.id);
    if (!cached || cached.generation !== knowledgeBase.generation) {
      cached = { generation: knowledgeBase.generation, ...this.store.readVectors(knowledgeBase.id) };
      this.cache.set(knowledgeBase.id, cached);
    }
    const { chunkIds, matrix, dimensions } = cached;
    if (chunkIds.length === 0 || limit <= 0) return [];
    if (query.length !== dimensions) return [];
    // Keep the best `limit` in a small sorted array: cheaper than sorting every score.
    const best: RankedItem<ChunkId>[] = [];
    for (let row = 0; row < chunkIds.length; row += 1) {
      let score = 0;
      const offset = row * dimensions;
      for (let column = 0; column < dimensions; column += 1)
        score += (matrix[offset + column] ?? 0) * (query[column] ?? 0);
      if (best.length === limit && score <= (best[best.length - 1]?.score ?? Number.NEGATIVE_INFINITY))
        continue;
      let position = best.length;
      while (position > 0 && (best[position - 1]?.score ?? 0) < score) position -= 1;
      best.splice(position, 0, { id: chunkIds[row] as ChunkId, score });
      if (best.length > limit) best.pop();
    }
    return best;
  }

  /** Forgets a knowledge base's cached matrix (after deleting it). */
  forget(knowledgeBase: KnowledgeBase): void {
    this.cache.delete(knowledgeBase.id);
  }
}
