import assert from "node:assert/strict";
import { test } from "node:test";
import { Counter, Gauge, Histogram, MetricsRegistry } from "./metrics-registry.ts";

test("renders counters, gauges and cumulative histograms in Prometheus text format", () => {
  const registry = new MetricsRegistry();
  const counter = registry.register(new Counter("demo_total", "Things."));
  counter.inc({ kind: 'say "hi"\n' });
  counter.inc({ kind: 'say "hi"\n' }, 2);
  registry.register(new Gauge("demo_depth", "Depth.", () => [{ labels: { queue: "a" }, value: 4 }]));
  const histogram = registry.register(new Histogram("demo_seconds", "Latency.", [0.1, 1]));
  histogram.observe({}, 0.05);
  histogram.observe({}, 0.5);
  histogram.observe({}, 5);
  const text = registry.render();
  assert.match(text, /^# TYPE demo_total counter$/m);
  assert.match(text, /^demo_total\{kind="say \\"hi\\"\\n"\} 3$/m);
  assert.match(text, /^demo_depth\{queue="a"\} 4$/m);
  assert.match(text, /^demo_seconds_bucket\{le="0.1"\} 1$/m);
  assert.match(text, /^demo_seconds_bucket\{le="1"\} 2$/m);
  assert.match(text, /^demo_seconds_bucket\{le="\+Inf"\} 3$/m);
  assert.match(text, /^demo_seconds_sum 5.55$/m);
  assert.match(text, /^demo_seconds_count 3$/m);
  assert.throws(() => registry.register(new Counter("demo_total", "Again.")), /twice/);
});

test("a series is named by its label set: any order, the same series; values that would run together, different ones", () => {
  const counter = new Counter("pairs_total", "Pairs.");
  counter.inc({ model: "m", backend: "b" });
  counter.inc({ backend: "b", model: "m" }, 2);
  assert.equal(counter.get({ model: "m", backend: "b" }), 3);
  // Joined naively these two would both read "a" + "b:c" / "a:b" + "c".
  counter.inc({ a: "b:c" });
  counter.inc({ "a:b": "c" }, 5);
  assert.equal(counter.get({ a: "b:c" }), 1);
  assert.equal(counter.get({ "a:b": "c" }), 5);
  counter.inc({ x: "1", y: "" });
  assert.equal(counter.get({ x: "1" }), 0);
  assert.equal(counter.get({ y: "", x: "1" }), 1);
  assert.equal(counter.render().length, 2 + 4);
});
