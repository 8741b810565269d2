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
