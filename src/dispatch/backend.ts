// A backend is an engine the dispatcher can place requests on: the local engine (models from the
// store) or a remote OpenAI-compatible server (vLLM, llama.cpp server, Ollama). The dispatcher only
// needs to know which models each serves, how many requests it takes at once, and whether it is up.
import type { Engine, ModelHandle } from "../engine/engine.ts";

export type BackendKind = "local" | "remote";

export interface Backend {
  readonly name: string;
  readonly kind: BackendKind;
  readonly engine: Engine;
  /** Requests it runs at once per model; more wait in that model's fair queue. */
  readonly capacity: number;
  serves(model: ModelHandle): boolean;
  /** Models it serves beyond the store's (remote backends: what their `/models` lists). */
  readonly models: readonly string[];
  /** False after a failure until the next health check passes. */
  readonly healthy: boolean;
  /** A request failed on it before its first token: take it out of placement until it is healthy again. */
  reportFailure(error: unknown): void;
}

/** Models from the store (they have a file path) run on the local engine, which is always up. */
export function createLocalBackend(engine: Engine, capacity: number): Backend {
  return {
    name: "local",
    kind: "local",
    engine,
    capacity,
    serves: (model) => model.path !== "",
    models: [],
    healthy: true,
    reportFailure: () => {},
  };
}
