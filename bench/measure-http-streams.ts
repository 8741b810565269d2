// Measures an OpenAI-compatible HTTP server (llama-server or `ostrom serve`) the same way: N concurrent
// streamed `/v1/completions` requests, timed on the client, plus the server process's peak RSS.
//
// Benchmark tooling only: nothing in `src/` may import this file.

import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import {
  readPeakRssMiB,
  type StreamsSummary,
  spawnTracked,
  stopProcess,
  summarizeStreams,
  timeStreamedCompletion,
  waitForHttpOk,
} from "./bench-process.ts";

export type HttpStreamsOptions = {
  baseUrl: string;
  /** The `model` field of the request. */
  model: string;
  prompt: string;
  maxTokens: number;
  streams: number;
  /** Engine-specific request fields, e.g. llama-server's `ignore_eos`. */
  extraBody?: Record<string, unknown>;
  timeoutMs: number;
};

/** One warm-up request, then `streams` concurrent streamed completions; returns the client-side timings. */
export async function measureHttpStreams(options: HttpStreamsOptions): Promise<StreamsSummary> {
  const url = `${options.baseUrl}/v1/completions`;
  const signal = AbortSignal.timeout(options.timeoutMs);
  const body = (prompt: string, maxTokens: number) => ({
    model: options.model,
    prompt,
    max_tokens: maxTokens,
    temperature: 0,
    ...options.extraBody,
  });
  await timeStreamedCompletion(url, body(options.prompt, 8), performance.now(), signal);
  const startedAt = performance.now();
  const timings = await Promise.all(
    Array.from({ length: options.streams }, (_, index) =>
      // A different prompt per stream, so that no stream can reuse another's prompt cache.
      timeStreamedCompletion(
        url,
        body(index === 0 ? options.prompt : `${options.prompt} ${index}`, options.maxTokens),
        startedAt,
        signal,
      ),
    ),
  );
  return summarizeStreams(timings);
}

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it right after). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

export type StartedServer = {
  child: ChildProcess;
  baseUrl: string;
  /** Server output so far, for error reports. */
  output: () => string;
  stop: () => Promise<void>;
  peakRssMiB: () => number | undefined;
};

export type StartServerOptions = {
  command: string;
  args: (port: number) => string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Path polled until it answers 200. Default: `/health`. */
  readyPath?: string;
  readyTimeoutMs: number;
};

/** Starts a server on a free port and waits until its health endpoint answers 200. */
export async function startServer(options: StartServerOptions): Promise<StartedServer> {
  const port = await findFreePort();
  let output = "";
  const child = spawnTracked(options.command, options.args(port), {
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    onOutput: (text) => {
      output = (output + text).slice(-20_000);
    },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const started: StartedServer = {
    child,
    baseUrl,
    output: () => output,
    stop: () => stopProcess(child),
    peakRssMiB: () => readPeakRssMiB(child.pid),
  };
  try {
    await waitForHttpOk(
      `${baseUrl}${options.readyPath ?? "/health"}`,
      options.readyTimeoutMs,
      () => child.exitCode === null && child.signalCode === null,
    );
  } catch (error) {
    await started.stop();
    throw new Error(`${String(error)}\n${output.slice(-2000)}`);
  }
  return started;
}

export type LlamaServerOptions = {
  serverPath: string;
  modelPath: string;
  threads: number;
  /** Slots (`-np`); the context is `contextPerSlot × parallel`. */
  parallel: number;
  contextPerSlot?: number;
  /** Prefix such as `["taskset", "-c", "0,1"]`. */
  wrapper?: string[];
};

/** Starts llama.cpp's own llama-server with `threads` for generation and prompt processing alike. */
export function startLlamaServer(options: LlamaServerOptions): Promise<StartedServer> {
  const [command = options.serverPath, ...wrapperArgs] = [...(options.wrapper ?? []), options.serverPath];
  return startServer({
    command,
    args: (port) => [
      ...wrapperArgs,
      "-m",
      options.modelPath,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "-t",
      String(options.threads),
      "-tb",
      String(options.threads),
      "-np",
      String(options.parallel),
      "-c",
      String((options.contextPerSlot ?? 1024) * options.parallel),
      "--no-webui",
      "--log-disable",
    ],
    readyTimeoutMs: 60_000,
  });
}

/** Request fields that make llama-server generate exactly `max_tokens` tokens from a fresh prompt. */
export const llamaServerExactLengthBody = { ignore_eos: true, cache_prompt: false } as const;
