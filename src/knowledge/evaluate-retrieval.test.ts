import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { computeMetrics, evaluateRetrieval, parseQrels, percentile } from "./evaluate-retrieval.ts";

test("qrels parse with CRLF line endings and a header", () => {
  const qrels = parseQrels("query-id\tcorpus-id\tscore\r\nq1\td1\t1\r\nq1\td2\t2\r\nq2\td3\t0\r\n");
  assert.deepEqual(
    Array.from(qrels, ([query, judged]) => [query, Array.from(judged)]),
    [
      [
        "q1",
        [
          ["d1", 1],
          ["d2", 2],
        ],
      ],
      ["q2", [["d3", 0]]],
    ],
  );
});

test("metrics follow their definitions (graded gains, queries without relevant documents skipped)", () => {
  const qrels = parseQrels("q1\ta\t2\nq1\tb\t1\nq2\tc\t1\nq3\tz\t0\n");
  const rankings = new Map([
    ["q1", ["b", "x", "a"]],
    ["q2", []],
  ]);
  const metrics = computeMetrics(qrels, rankings);
  const dcg = 1 / Math.log2(2) + 2 / Math.log2(4);
  const ideal = 2 / Math.log2(2) + 1 / Math.log2(3);
  assert.equal(metrics.queries, 2);
  assert.ok(Math.abs(metrics["ndcg@10"] - dcg / ideal / 2) < 1e-12);
  assert.equal(metrics["mrr@10"], 0.5);
  assert.equal(metrics["recall@100"], 0.5);
  assert.equal(percentile([5, 1, 4, 2, 3], 0.5), 3);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95), 10);
});

test("a small BEIR folder goes through ingestion and search to the expected metrics", async () => {
  const folder = await mkdtemp(path.join(os.tmpdir(), "ostrom-beir-"));
  try {
    await mkdir(path.join(folder, "qrels"));
    const lines = (records: object[]) => `${records.map((record) => JSON.stringify(record)).join("\n")}\n`;
    await writeFile(
      path.join(folder, "corpus.jsonl"),
      lines([
        { _id: "d1", title: "", text: "apple orchard harvest" },
        { _id: "d2", title: "", text: "banana plantation tropical" },
        { _id: "d3", title: "", text: "cherry blossom spring" },
        { _id: "d4", title: "", text: "apple pie recipe" },
      ]),
    );
    await writeFile(
      path.join(folder, "queries.jsonl"),
      lines([
        // Also a corpus document: its own id must not count as retrieved.
        { _id: "d1", text: "apple orchard harvest" },
        { _id: "q2", text: "tropical banana cherry" },
        { _id: "q3", text: "apple" },
        { _id: "unjudged", text: "banana" },
      ]),
    );
    // q3's relevant document is not in the corpus: it cannot score, as in published runs.
    await writeFile(
      path.join(folder, "qrels", "test.tsv"),
      "query-id\tcorpus-id\tscore\r\nd1\td4\t1\r\nq2\td3\t1\r\nq3\tmissing\t1\r\n",
    );
    const result = await evaluateRetrieval(folder);
    assert.equal(result.documents, 4);
    assert.equal(result.queries, 3);
    assert.ok(Math.abs(result["ndcg@10"] - (1 + 1 / Math.log2(3)) / 3) < 1e-9, String(result["ndcg@10"]));
    assert.ok(Math.abs(result["mrr@10"] - 0.5) < 1e-9);
    assert.ok(Math.abs(result["recall@100"] - 2 / 3) < 1e-9);
    assert.ok(result.docs_per_s > 0);
    assert.ok(result.query_p95_ms >= result.query_p50_ms);
    const hybrid = await evaluateRetrieval(folder, { mode: "hybrid" });
    assert.equal(hybrid.queries, 3);
    assert.ok(hybrid["recall@100"] > 0);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
