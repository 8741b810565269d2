// The engine's handle on one runner process: forks it, loads the model, multiplexes requests over IPC
// and admits at most `parallel` of them at once (the rest wait in a bounded queue). If the process
// dies, every request it held fails with `engine_crashed` and the handle reports itself dead.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { OstromError } from "../../errors.ts";
import { AsyncChannel } from "../../util/async-channel.ts";
import type { CancelSignal } from "../../util/cancel-signal.ts";
import type { GenerationEvent } from "../engine.ts";
import type {
  ParentMessage,
  RunnerChatRequest,
  RunnerCompletionRequest,
  RunnerLoadOptions,
  RunnerMessage,
  RunnerModelInfo,
  SerializedError,
} from "./runner-protocol.ts";
import { SlotQueue } from "./slot-queue.ts";

export interface ModelRunnerOptions {
  /** `name:tag`, for messages. */
  ref: string;
  load: RunnerLoadOptions;
  maxQueue: number;
  /** Called once when the process exits, expectedly or not. */
  onExit?: (runner: ModelRunner) => void;
  /** Called whenever the runner becomes idle (no running or queued request). */
  onIdle?: (runner: ModelRunner) => void;
}

type Pending =
  | { kind: "stream"; channel: AsyncChannel<GenerationEvent>; release: () => void }
  | {
      kind: "embed";
      resolve: (value: { vectors: number[][]; promptTokens: number }) => void;
      reject: (error: unknown) => void;
      release: () => void;
    };

const runnerEntry = fileURLToPath(
  new URL(`./runner-main${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url),
);
// Running from TypeScript sources (tests, `tsx`): the child needs the same loader.
const runnerExecArgv = import.meta.url.endsWith(".ts") ? ["--import", import.meta.resolve("tsx")] : [];

export class ModelRunner {
  readonly ref: string;
  readonly info: RunnerModelInfo;
  readonly #child: ChildProcess;
  readonly #slots: SlotQueue;
  readonly #pending = new Map<number, Pending>();
  readonly #options: ModelRunnerOptions;
  #nextId = 1;
  #exited = false;
  #cancelledRequests = 0;
  #peakActiveRequests = 0;

  private constructor(child: ChildProcess, info: RunnerModelInfo, options: ModelRunnerOptions) {
    this.ref = options.ref;
    this.info = info;
    this.#child = child;
    this.#options = options;
    this.#slots = new SlotQueue({ slots: info.parallel, maxWaiting: options.maxQueue });
    child.on("message", (message: RunnerMessage) => this.#onMessage(message));
    child.on("exit", (code, signal) => this.#onExit(code, signal));
  }

  /** Forks a runner and loads the model; rejects with the runner's error if loading fails. */
  static start(options: ModelRunnerOptions, signal: AbortSignal): Promise<ModelRunner> {
    const child = fork(runnerEntry, [], {
      execArgv: runnerExecArgv,
      // With the OpenMP engine build, keep the thread team spinning between tokens like llama-server's
      // pool (an idle model still uses no CPU: measured in docs/benchmarks.md). One libuv worker: each
      // decode and sample is native work on libuv's pool, and OpenMP keeps a team of threads per
      // calling thread, so with the default 4 workers up to 4 teams spun against each other on 2 cores
      // whenever sequences sampled in parallel (4 streams: 105 -> 173 tok/s with one worker, same file).
      env: { OMP_WAIT_POLICY: "active", UV_THREADPOOL_SIZE: "1", ...process.env },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    });
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        child.off("message", onMessage);
        child.off("exit", onExit);
        signal.removeEventListener("abort", onAbort);
      };
      const onMessage = (message: RunnerMessage) => {
        if (message.type === "ready") {
          cleanup();
          resolve(new ModelRunner(child, message.info, options));
        } else if (message.type === "load_failed") {
          cleanup();
          child.kill("SIGKILL");
          reject(deserializeError(message.error));
        }
      };
      const onExit = (code: number | null, exitSignal: NodeJS.Signals | null) => {
        cleanup();
        reject(
          new OstromError(
            "engine_crashed",
            `The runner for ${options.ref} died while loading the model (${describeExit(code, exitSignal)}).`,
          ),
        );
      };
      const onAbort = () => {
        cleanup();
        child.kill("SIGKILL");
        reject(new OstromError("request_cancelled", `Loading ${options.ref} was cancelled.`));
      };
      child.on("message", onMessage);
      child.on("exit", onExit);
      signal.addEventListener("abort", onAbort, { once: true });
      child.send({ type: "load", options: options.load } satisfies ParentMessage);
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get alive(): boolean {
    return !this.#exited;
  }

  get activeRequests(): number {
    return this.#slots.busy;
  }

  get queuedRequests(): number {
    return this.#slots.waiting;
  }

  /** Generations stopped early because their client went away or aborted. */
  get cancelledRequests(): number {
    return this.#cancelledRequests;
  }

  /** Most requests ever running at once on this runner: evidence of batching. */
  get peakActiveRequests(): number {
    return this.#peakActiveRequests;
  }

  get idle(): boolean {
    return this.#slots.busy === 0 && this.#slots.waiting === 0;
  }

  chat(request: RunnerChatRequest, signal: CancelSignal): AsyncIterable<GenerationEvent> {
    return this.#stream((id) => ({ type: "chat", id, request }), signal);
  }

  complete(request: RunnerCompletionRequest, signal: CancelSignal): AsyncIterable<GenerationEvent> {
    return this.#stream((id) => ({ type: "complete", id, request }), signal);
  }

  async embed(
    inputs: string[],
    signal: CancelSignal,
  ): Promise<{ vectors: number[][]; promptTokens: number }> {
    const release = await this.#slots.acquire(signal);
    this.#assertAlive(release);
    const id = this.#nextId++;
    const onAbort = () => this.#send({ type: "cancel", id });
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await new Promise((resolve, reject) => {
        this.#pending.set(id, { kind: "embed", resolve, reject, release });
        this.#send({ type: "embed", id, inputs });
      });
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Asks the runner to exit, and kills it if it has not after `graceMs`. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once("exit", () => resolve()));
    this.#send({ type: "shutdown" });
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** For tests of crash handling: kills the process the hard way. */
  kill(): void {
    this.#child.kill("SIGKILL");
  }

  async *#stream(
    createMessage: (id: number) => ParentMessage,
    signal: CancelSignal,
  ): AsyncGenerator<GenerationEvent> {
    const release = await this.#slots.acquire(signal);
    this.#assertAlive(release);
    this.#peakActiveRequests = Math.max(this.#peakActiveRequests, this.#slots.busy);
    const id = this.#nextId++;
    let finished = false;
    const cancel = () => {
      if (!finished) this.#send({ type: "cancel", id });
    };
    const channel = new AsyncChannel<GenerationEvent>(cancel);
    this.#pending.set(id, { kind: "stream", channel, release });
    signal.addEventListener("abort", cancel, { once: true });
    try {
      this.#send(createMessage(id));
      for await (const event of channel) {
        if (event.type === "done") finished = true;
        yield event;
      }
      finished = true;
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  }

  #assertAlive(release: () => void): void {
    if (this.#exited) {
      release();
      throw new OstromError(
        "engine_crashed",
        `The runner for ${this.ref} is no longer running; retry the request.`,
      );
    }
  }

  #send(message: ParentMessage): void {
    if (!this.#exited && this.#child.connected) this.#child.send(message);
  }

  #onMessage(message: RunnerMessage): void {
    if (message.type === "ready" || message.type === "load_failed") return;
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    switch (message.type) {
      case "text":
        if (pending.kind === "stream") pending.channel.push({ type: "text", text: message.text });
        return;
      case "done":
        if (message.finishReason === "cancelled") this.#cancelledRequests += 1;
        this.#settle(message.id, pending);
        if (pending.kind === "stream") {
          const { finishReason, usage, toolCalls } = message;
          pending.channel.push({ type: "done", finishReason, usage, toolCalls });
          pending.channel.close();
        }
        return;
      case "embedded":
        this.#settle(message.id, pending);
        if (pending.kind === "embed")
          pending.resolve({ vectors: message.vectors, promptTokens: message.promptTokens });
        return;
      case "error": {
        this.#settle(message.id, pending);
        const error = deserializeError(message.error);
        if (pending.kind === "stream") pending.channel.fail(error);
        else pending.reject(error);
        return;
      }
      default:
        message satisfies never;
    }
  }

  #settle(id: number, pending: Pending): void {
    this.#pending.delete(id);
    pending.release();
    if (this.idle) this.#options.onIdle?.(this);
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#exited = true;
    const error = new OstromError(
      "engine_crashed",
      `The runner for ${this.ref} stopped (${describeExit(code, signal)}) while serving this request; retry it.`,
    );
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.release();
      if (pending.kind === "stream") pending.channel.fail(error);
      else pending.reject(error);
    }
    this.#slots.rejectAll(error);
    this.#options.onExit?.(this);
  }
}

function deserializeError(error: SerializedError): OstromError {
  return new OstromError(error.code, error.message, error.param === undefined ? {} : { param: error.param });
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}
