// A remote OpenAI-compatible server as a dispatcher backend: it serves the models its `/models` lists,
// is checked every `checkIntervalMs` (model list and health in one request), and after a failure is
// left out of placement until a check passes again, re-checked soon rather than at the next interval.
import type { Engine, ModelHandle } from "../engine/engine.ts";
import { invalidParameter } from "../errors.ts";
import type { Backend } from "./backend.ts";

/** What the backend needs of a remote engine (src/engine/remote/remote-engine.ts). */
export interface RemoteEngineLike extends Engine {
  listModels(signal: AbortSignal): Promise<string[]>;
}

export interface RemoteBackendOptions {
  name: string;
  engine: RemoteEngineLike;
  capacity: number;
  /** Default 10 000. */
  checkIntervalMs?: number;
  /** After a failure, how soon to check again. Default 2 000. */
  recheckAfterFailureMs?: number;
  /** Reported when the backend goes down or comes back. */
  log?: (message: string) => void;
}

export class RemoteBackend implements Backend {
  readonly name: string;
  readonly kind = "remote" as const;
  readonly engine: RemoteEngineLike;
  readonly capacity: number;
  readonly #checkIntervalMs: number;
  readonly #recheckAfterFailureMs: number;
  readonly #log: (message: string) => void;
  #models = new Set<string>();
  #healthy = false;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  readonly #stopController = new AbortController();

  constructor(options: RemoteBackendOptions) {
    this.name = options.name;
    this.engine = options.engine;
    this.capacity = options.capacity;
    this.#checkIntervalMs = options.checkIntervalMs ?? 10_000;
    this.#recheckAfterFailureMs = options.recheckAfterFailureMs ?? 2_000;
    this.#log = options.log ?? (() => {});
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  /** The upstream's model names, as of the last successful check. */
  get models(): string[] {
    return [...this.#models];
  }

  /** Remote models have no file in the store; a model is served here when this upstream lists it. */
  serves(model: ModelHandle): boolean {
    return model.path === "" && this.#models.has(model.ref);
  }

  reportFailure(error: unknown): void {
    this.#setHealthy(false, error instanceof Error ? error.message : String(error));
    this.#schedule(this.#recheckAfterFailureMs);
  }

  /** Checks now (model list = health), then keeps checking until `stop`. */
  async start(): Promise<void> {
    await this.check();
  }

  stop(): void {
    this.#stopController.abort();
    clearTimeout(this.#timer);
  }

  /** One check; concurrent callers share it. */
  check(): Promise<void> {
    this.#checking ??= (async () => {
      const signal = AbortSignal.any([this.#stopController.signal, AbortSignal.timeout(5_000)]);
      try {
        this.#models = new Set(await this.engine.listModels(signal));
        this.#setHealthy(true, `serves ${[...this.#models].join(", ") || "no models"}`);
        this.#schedule(this.#checkIntervalMs);
      } catch (error) {
        this.#setHealthy(false, error instanceof Error ? error.message : String(error));
        this.#schedule(this.#recheckAfterFailureMs);
      } finally {
        this.#checking = undefined;
      }
    })();
    return this.#checking;
  }

  #schedule(delayMs: number): void {
    if (this.#stopController.signal.aborted) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.check(), delayMs);
    this.#timer.unref();
  }

  #setHealthy(healthy: boolean, detail: string): void {
    if (healthy === this.#healthy) return;
    this.#healthy = healthy;
    this.#log(`backend ${this.name} is ${healthy ? "up" : "down"}: ${detail}`);
  }
}

export interface BackendSpec {
  name: string;
  baseUrl: string;
}

/** Parses `NAME=KEY` entries of `--backend-api-key` against the backends' names. */
export function parseBackendApiKeys(
  entries: readonly string[],
  specs: readonly BackendSpec[],
): Map<string, string> {
  const keys = new Map<string, string>();
  for (const entry of entries) {
    const separator = entry.indexOf("=");
    const name = separator > 0 ? entry.slice(0, separator).trim() : "";
    const key = separator > 0 ? entry.slice(separator + 1).trim() : "";
    // The entry itself may hold a secret: never echo it.
    if (name === "" || key === "")
      throw invalidParameter(
        "backend-api-key",
        "--backend-api-key takes NAME=KEY for a backend named by --backend.",
      );
    if (!specs.some((spec) => spec.name === name))
      throw invalidParameter(
        "backend-api-key",
        `--backend-api-key names "${name}", which is not a --backend.`,
      );
    keys.set(name, key);
  }
  return keys;
}

/** Parses `NAME=URL` entries of the `--backend` option; names must be unique and not `local`. */
export function parseBackendSpecs(entries: readonly string[]): BackendSpec[] {
  const specs: BackendSpec[] = [];
  for (const entry of entries) {
    const match = /^([A-Za-z0-9][\w.-]*)=(.+)$/.exec(entry.trim());
    if (!match?.[1] || !match[2])
      throw invalidParameter(
        "backend",
        `--backend takes NAME=URL (e.g. gpu1=http://10.0.0.5:8000/v1), not "${entry}".`,
      );
    const [, name, url] = match;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalidParameter("backend", `The URL of backend ${name} is not a URL: "${url}".`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
      throw invalidParameter("backend", `Backend ${name} must use http or https, not ${parsed.protocol}`);
    if (name === "local" || specs.some((spec) => spec.name === name))
      throw invalidParameter("backend", `Backend name "${name}" is reserved or used twice.`);
    specs.push({ name, baseUrl: url });
  }
  return specs;
}
