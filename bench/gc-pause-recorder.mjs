// A preload for the gateway benchmark's `--gc-pauses` (`node --import bench/gc-pause-recorder.mjs …`):
// records every garbage-collection pause of the process it is loaded into and, when that process exits,
// writes them to the file named by OSTROM_BENCH_GC_FILE as JSON lines `[startEpochMs, durationMs, kind]`
// (kind: "scavenge", "mark-compact", "incremental" or "weak-callbacks"). Plain JavaScript, so that the
// compiled server (`bin/ostrom.js`, no TypeScript loader) can load it; it only observes, and the
// observer's cost is one callback per pause. Benchmark tooling only: nothing in `src/` may import this.
import { writeFileSync } from "node:fs";
import { constants, PerformanceObserver } from "node:perf_hooks";

const file = process.env.OSTROM_BENCH_GC_FILE;
const kinds = new Map([
  [constants.NODE_PERFORMANCE_GC_MINOR, "scavenge"],
  [constants.NODE_PERFORMANCE_GC_MAJOR, "mark-compact"],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, "incremental"],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, "weak-callbacks"],
]);
const pauses = [];

if (file !== undefined) {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const start = performance.timeOrigin + entry.startTime;
      pauses.push([
        Math.round(start * 1000) / 1000,
        entry.duration,
        kinds.get(entry.detail?.kind) ?? "other",
      ]);
    }
  }).observe({ entryTypes: ["gc"] });
  process.on("exit", () => {
    writeFileSync(file, pauses.map((pause) => JSON.stringify(pause)).join("\n"));
  });
}
