import assert from "node:assert/strict";
import { test } from "node:test";
import { fuseRankings } from "./fuse-rankings.ts";

const lexical = [
  { id: "a", score: 12 },
  { id: "b", score: 8 },
  { id: "c", score: 2 },
];
const dense = [
  { id: "c", score: 0.9 },
  { id: "a", score: 0.5 },
  { id: "d", score: 0.1 },
];

test("reciprocal rank fusion sums weight / (k + rank)", () => {
  const fused = fuseRankings([lexical, dense], { method: "rrf", k: 60 });
  assert.deepEqual(
    fused.map((item) => item.id),
    ["a", "c", "b", "d"],
  );
  assert.ok(Math.abs((fused[0]?.score ?? 0) - (1 / 61 + 1 / 62)) < 1e-12);
  assert.ok(Math.abs((fused[3]?.score ?? 0) - 1 / 63) < 1e-12);
});

test("RRF weights favour one list; a zero weight ignores it", () => {
  const denseFirst = fuseRankings([lexical, dense], { method: "rrf", k: 60, weights: [1, 3] });
  assert.equal(denseFirst[0]?.id, "c");
  assert.deepEqual(
    fuseRankings([lexical, dense], { method: "rrf", weights: [1, 0] }).map((item) => item.id),
    ["a", "b", "c"],
  );
});

test("linear fusion min-max normalizes each list before the weighted sum", () => {
  const fused = fuseRankings([lexical, dense], { method: "linear", weights: [0.5, 0.5] });
  const score = (id: string) => fused.find((item) => item.id === id)?.score ?? Number.NaN;
  assert.ok(Math.abs(score("a") - (0.5 * 1 + 0.5 * 0.5)) < 1e-12);
  assert.ok(Math.abs(score("c") - (0.5 * 0 + 0.5 * 1)) < 1e-12);
  assert.ok(Math.abs(score("b") - 0.5 * 0.6) < 1e-12);
  assert.equal(score("d"), 0);
  assert.equal(fused[0]?.id, "a");
});

test("a list whose scores are all equal normalizes to 1; empty lists are fine", () => {
  assert.deepEqual(fuseRankings([[{ id: 1, score: 3 }], []], { method: "linear" }), [{ id: 1, score: 1 }]);
  assert.deepEqual(fuseRankings<number>([], { method: "rrf" }), []);
});
