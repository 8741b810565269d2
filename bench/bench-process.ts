// Process helpers shared by the benchmarks: spawn with a hard timeout, read a process's peak RSS and
// CPU time from /proc, time a streamed HTTP response, and make sure every started process is killed.
//
// Benchmark tooling only: nothing in `src/` may import this file.

import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Every process the benchmark started and has not yet seen exit; killed on exit and on signals. */
const liveChildren = new Set<ChildProcess>();

function killAllChildren(): void {
  for (const child of liveChildren) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}
process.on("exit", killAllChildren);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

export type SpawnTrackedOptions = {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with each chunk of stdout+stderr, for readiness detection and error reports. */
  onOutput?: (text: string) => void;
};

/** Spawns a process that is killed when the benchmark exits, whatever happens. */
export function spawnTracked(
  command: string,
  args: string[],
  options: SpawnTrackedOptions = {},
): ChildProcess {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  liveChildren.add(child);
  child.on("exit", () => liveChildren.delete(child));
  const forward = (chunk: Buffer) => options.onOutput?.(chunk.toString("utf8"));
  child.stdout?.on("data", forward);
  child.stderr?.on("data", forward);
  return child;
}

/** Sends SIGTERM, then SIGKILL after `graceMs`, and resolves once the process has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export type RunToCompletionResult = { code: number | null; output: string; timedOut: boolean };

/** Runs a command to completion, collecting stdout+stderr; kills it after `timeoutMs`. */
export function runToCompletion(
  command: string,
  args: string[],
  options: SpawnTrackedOptions & { timeoutMs: number },
): Promise<RunToCompletionResult> {
  return new Promise((resolve) => {
    let output = "";
    let timedOut = false;
    const child = spawnTracked(command, args, {
      ...options,
      onOutput: (text) => {
        output += text;
        options.onOutput?.(text);
      },
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.on("error", (error) => {
      output += String(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

/** Peak resident set size (VmHWM) of a live process, in MiB; `undefined` once it has exited. */
export function readPeakRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match?.[1] === undefined ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
}

/** Current resident set size (VmRSS) of a live process, in MiB. */
export function readRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match?.[1] === undefined ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
}

const clockTicksPerSecond = 100;

/** User+system CPU seconds consumed so far by a process (all its threads, including exited ones). */
export function readCpuSeconds(pid: number | "self" = "self"): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

/** The last process id the kernel handed out: its growth counts threads and processes created. */
export function readLastPid(): number {
  return Number(readFileSync("/proc/sys/kernel/ns_last_pid", "utf8").trim());
}

/** Polls `url` until it answers 200 or `timeoutMs` passes. */
export async function waitForHttpOk(url: string, timeoutMs: number, isAlive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`process exited before ${url} answered`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

export type StreamTiming = {
  /** Milliseconds from sending the request to the first streamed token. */
  firstTokenMs: number | undefined;
  /** Milliseconds from sending the request to the last streamed token. */
  lastTokenMs: number | undefined;
  /** Number of streamed chunks that carried text (one per token for llama-server and Ostrom). */
  tokens: number;
  text: string;
};

/**
 * POSTs an OpenAI-style `/v1/completions` request with `stream: true` and timestamps each SSE event
 * that carries text. `extraBody` adds engine-specific fields (e.g. llama-server's `ignore_eos`).
 */
export async function timeStreamedCompletion(
  url: string,
  body: Record<string, unknown>,
  startedAt: number,
  signal: AbortSignal,
): Promise<StreamTiming> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...body, stream: true }),
    signal,
  });
  if (!response.ok || response.body === null) {
    throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  }
  const timing: StreamTiming = { firstTokenMs: undefined, lastTokenMs: undefined, tokens: 0, text: "" };
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of response.body) {
    const now = performance.now() - startedAt;
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    let boundary = buffered.indexOf("\n\n");
    while (boundary >= 0) {
      const event = buffered.slice(0, boundary);
      buffered = buffered.slice(boundary + 2);
      boundary = buffered.indexOf("\n\n");
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") continue;
        const parsed = JSON.parse(data) as { choices?: Array<{ text?: string }>; content?: string };
        const text = parsed.choices?.[0]?.text ?? parsed.content ?? "";
        if (text === "") continue;
        timing.tokens++;
        timing.text += text;
        timing.firstTokenMs ??= now;
        timing.lastTokenMs = now;
      }
    }
  }
  return timing;
}

export type StreamsSummary = {
  /** Aggregate decode rate: tokens after each stream's first, over the span from first to last token. */
  decodeTokensPerSecond: number | undefined;
  /** Mean time to first token over the streams. */
  timeToFirstTokenMs: number | undefined;
  /** Tokens per stream, for spotting early stops. */
  tokensPerStream: number[];
};

/** Combines per-stream timings into one throughput and one time-to-first-token figure. */
export function summarizeStreams(streams: StreamTiming[]): StreamsSummary {
  const firsts = streams.map((stream) => stream.firstTokenMs).filter((value) => value !== undefined);
  const lasts = streams.map((stream) => stream.lastTokenMs).filter((value) => value !== undefined);
  const decodedTokens = streams.reduce((sum, stream) => sum + Math.max(0, stream.tokens - 1), 0);
  const spanMs = firsts.length === 0 ? 0 : Math.max(...lasts) - Math.min(...firsts);
  return {
    decodeTokensPerSecond: spanMs > 0 ? (decodedTokens * 1000) / spanMs : undefined,
    timeToFirstTokenMs:
      firsts.length === 0 ? undefined : firsts.reduce((sum, value) => sum + value, 0) / firsts.length,
    tokensPerStream: streams.map((stream) => stream.tokens),
  };
}

/** Process ids of `pid` and all its descendants (Ostrom runs models in child processes). */
export function listProcessTree(pid: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const siblings = childrenOf.get(parent) ?? [];
      siblings.push(Number(entry));
      childrenOf.set(parent, siblings);
    } catch {
      // exited while listing
    }
  }
  const tree: number[] = [];
  const pending = [pid];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    tree.push(next);
    pending.push(...(childrenOf.get(next) ?? []));
  }
  return tree;
}

/** Sum of the peak RSS (VmHWM) of a process and its live descendants, in MiB. */
export function readTreePeakRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const peaks = listProcessTree(pid).map((member) => readPeakRssMiB(member) ?? 0);
  return peaks.length === 0 ? undefined : peaks.reduce((sum, value) => sum + value, 0);
}

/** Sum of the current RSS (VmRSS) of a process and its live descendants, in MiB. */
export function readTreeRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const sizes = listProcessTree(pid).map((member) => readRssMiB(member) ?? 0);
  return sizes.length === 0 ? undefined : sizes.reduce((sum, value) => sum + value, 0);
}

/**
 * Samples a process tree's summed peak RSS every `intervalMs` until stopped, so that the peak of
 * short-lived processes (a CLI run, a model runner that exits) is not lost when they exit.
 */
export function trackTreePeakRss(pid: number | undefined, intervalMs = 50): () => number | undefined {
  let peak: number | undefined;
  const sample = () => {
    const value = readTreePeakRssMiB(pid);
    if (value !== undefined && value > 0 && (peak === undefined || value > peak)) peak = value;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return () => {
    sample();
    clearInterval(timer);
    return peak;
  };
}
