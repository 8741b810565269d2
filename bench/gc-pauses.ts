// Garbage-collection pauses of a benchmarked server, per measured phase: reads the file that
// bench/gc-pause-recorder.mjs wrote in the server's process and summarises the pauses that started
// within each phase's wall-clock window. Benchmark tooling only: nothing in `src/` may import this file.
import { readFile } from "node:fs/promises";

/** How long the process stood still for one kind of collection within a window. */
export interface PauseSummary {
  count: number;
  p50Ms: number | undefined;
  maxMs: number | undefined;
  /** Paused milliseconds per second of the window. */
  msPerSecond: number;
}

export interface PhaseGcPauses {
  scavenges: PauseSummary;
  markCompacts: PauseSummary;
  /** Incremental marking steps and weak-reference callbacks, the other pauses of a full collection. */
  otherSteps: PauseSummary;
}

type Pause = [startEpochMs: number, durationMs: number, kind: string];

export async function readGcPauses(file: string): Promise<Pause[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    throw new Error(`${file} is missing: the server did not exit cleanly, so it wrote no GC pauses`);
  }
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Pause);
}

/** The pauses that started in [fromMs, toMs) (epoch milliseconds), by kind. */
export function summarizeGcPauses(pauses: readonly Pause[], fromMs: number, toMs: number): PhaseGcPauses {
  const within = pauses.filter(([start]) => start >= fromMs && start < toMs);
  const seconds = Math.max(1e-9, (toMs - fromMs) / 1000);
  const summarize = (kinds: string[]): PauseSummary => {
    const durations = within
      .filter(([, , kind]) => kinds.includes(kind))
      .map(([, duration]) => duration)
      .sort((a, b) => a - b);
    const total = durations.reduce((sum, duration) => sum + duration, 0);
    return {
      count: durations.length,
      p50Ms: round(durations[Math.floor(durations.length / 2)]),
      maxMs: round(durations.at(-1)),
      msPerSecond: round(total / seconds) ?? 0,
    };
  };
  return {
    scavenges: summarize(["scavenge"]),
    markCompacts: summarize(["mark-compact"]),
    otherSteps: summarize(["incremental", "weak-callbacks", "other"]),
  };
}

function round(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(value * 100) / 100;
}
