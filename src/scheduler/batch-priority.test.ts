import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { BatchItem, CustomBatchingPrioritizationStrategy } from "node-llama-cpp";
import { type BatchOwner, createFairBatchPrioritization } from "./batch-priority.ts";

interface Item {
  tokens: { length: number };
  owner: string;
}

const item = (owner: string, length: number): Item => ({ owner, tokens: { length } });

test("splits the budget between owners by weight, and equally within an owner", () => {
  const weights: Record<string, number> = { a: 1, b: 3 };
  const prioritize = createFairBatchPrioritization<Item>((i) => ({
    key: i.owner,
    weight: weights[i.owner] ?? 1,
  }));
  const a1 = item("a", 1000);
  const b1 = item("b", 1000);
  const b2 = item("b", 1000);
  const result = prioritize({ items: [a1, b1, b2], size: 400 });
  const amountOf = (target: Item) => result.find((entry) => entry.item === target)?.processAmount;
  assert.equal(amountOf(a1), 100);
  assert.equal(amountOf(b1), 150);
  assert.equal(amountOf(b2), 150);
});

test("serves decode steps in full and gives what an owner leaves to the others", () => {
  const prioritize = createFairBatchPrioritization<Item>((i) => ({ key: i.owner, weight: 1 }));
  const decodes = Array.from({ length: 8 }, () => item("a", 1));
  const prompt = item("b", 2000);
  const result = prioritize({ items: [...decodes, prompt], size: 512 });
  for (const decode of decodes) assert.equal(result.find((entry) => entry.item === decode)?.processAmount, 1);
  assert.equal(result.find((entry) => entry.item === prompt)?.processAmount, 504);
});

test("leaves out items that get nothing, since node-llama-cpp would round 0 up to 1", () => {
  const prioritize = createFairBatchPrioritization<Item>(() => undefined);
  const result = prioritize({ items: [item("a", 5), item("b", 5), item("c", 5)], size: 2 });
  assert.equal(result.length, 2);
  assert.ok(result.every((entry) => entry.processAmount === 1));
});

test("fits node-llama-cpp's custom prioritisation hook type", () => {
  const owners = new WeakMap<BatchItem, BatchOwner>();
  const strategy: CustomBatchingPrioritizationStrategy = createFairBatchPrioritization<BatchItem>(
    (batchItem) => owners.get(batchItem),
  );
  assert.equal(typeof strategy, "function");
});

test("property: never over budget or over an item's length, uses the whole budget, keeps references", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ owner: fc.constantFrom("a", "b", "c", "d"), length: fc.integer({ min: 0, max: 600 }) }),
        {
          maxLength: 40,
        },
      ),
      fc.record({ a: fc.double({ min: 0.01, max: 10 }), b: fc.double({ min: 0.01, max: 10 }) }),
      fc.integer({ min: 0, max: 2048 }),
      (specs, weights, size) => {
        const items = specs.map((spec) => item(spec.owner, spec.length));
        const prioritize = createFairBatchPrioritization<Item>((i) =>
          i.owner === "d"
            ? undefined
            : { key: i.owner, weight: i.owner === "c" ? 1 : weights[i.owner as "a" | "b"] },
        );
        const result = prioritize({ items, size });
        const total = result.reduce((sum, entry) => sum + entry.processAmount, 0);
        const demand = items.reduce((sum, i) => sum + i.tokens.length, 0);
        assert.equal(total, Math.min(size, demand));
        for (const entry of result) {
          assert.ok(items.includes(entry.item));
          assert.ok(entry.processAmount >= 1 && entry.processAmount <= entry.item.tokens.length);
        }
        assert.equal(new Set(result.map((entry) => entry.item)).size, result.length);
      },
    ),
  );
});
