// The one schema of Ostrom's configuration: every setting, its flag, its environment variable, its
// default and what it does. `load-config.ts` reads settings from it, `ostrom serve --help` and
// docs/configuration.md are generated from it. Nothing else in the project reads process.env.
import os from "node:os";
import path from "node:path";

type OptionKind = "string" | "integer" | "boolean" | "bytes" | "seconds" | "list";

interface OptionDefinition<Kind extends OptionKind = OptionKind> {
  kind: Kind;
  flag: `--${string}`;
  env: `OSTROM_${string}`;
  /** A value, or a function computing it from the machine, shown in help as `defaultText`. */
  default: ValueOfKind<Kind> | (() => ValueOfKind<Kind>);
  defaultText?: string;
  description: string;
  min?: number;
  max?: number;
  /** For strings: the only accepted values. */
  choices?: readonly string[];
}

type ValueOfKind<Kind extends OptionKind> = Kind extends "string"
  ? string
  : Kind extends "boolean"
    ? boolean
    : Kind extends "list"
      ? string[]
      : number;

function defineOption<Kind extends OptionKind>(definition: OptionDefinition<Kind>): OptionDefinition<Kind> {
  return definition;
}

export const configSchema = {
  host: defineOption({
    kind: "string",
    flag: "--host",
    env: "OSTROM_HOST",
    default: "127.0.0.1",
    description: "Address the HTTP server listens on. Use 0.0.0.0 to accept connections from other machines.",
  }),
  port: defineOption({
    kind: "integer",
    flag: "--port",
    env: "OSTROM_PORT",
    default: 11435,
    min: 0,
    max: 65535,
    description: "TCP port of the HTTP server (API and web console). 0 picks a free port.",
  }),
  dataDir: defineOption({
    kind: "string",
    flag: "--data-dir",
    env: "OSTROM_HOME",
    default: () => path.join(os.homedir(), ".ostrom"),
    defaultText: "~/.ostrom",
    description: "Directory holding the model store and all other state.",
  }),
  threads: defineOption({
    kind: "integer",
    flag: "--threads",
    env: "OSTROM_THREADS",
    default: 0,
    defaultText:
      "0 (auto: all cores available with the OpenMP engine build (see --engine-build), " +
      "else one less than the cores, at least 1)",
    min: 0,
    max: 1024,
    description:
      "CPU threads per model for inference. Never set more than the cores you have: an oversubscribed " +
      "thread pool spin-waits and runs 1000x slower. See docs/benchmarks.md for why auto chooses as it does.",
  }),
  engineBuild: defineOption({
    kind: "string",
    flag: "--engine-build",
    env: "OSTROM_ENGINE_BUILD",
    default: "background",
    choices: ["background", "off"],
    description:
      "`background`: when models may use several cores and the OpenMP engine build is missing, `ostrom serve` " +
      "builds it at the lowest CPU priority (once, ~4 min on 2 idle cores; needs cmake, g++ and git; kept in " +
      "<data-dir>/engine and restored after a reinstall) and models switch to it when they are next idle. " +
      "`off`: never (`ostrom build-engine` builds it in the foreground).",
  }),
  contextSize: defineOption({
    kind: "integer",
    flag: "--context-size",
    env: "OSTROM_CONTEXT_SIZE",
    default: 4096,
    min: 64,
    max: 1_048_576,
    description: "Context window per request, in tokens; capped at the model's own training context.",
  }),
  parallel: defineOption({
    kind: "integer",
    flag: "--parallel",
    env: "OSTROM_PARALLEL",
    default: 4,
    min: 1,
    max: 64,
    description: "Requests one loaded model serves at once, batched together (sequences of one context).",
  }),
  maxQueue: defineOption({
    kind: "integer",
    flag: "--max-queue",
    env: "OSTROM_MAX_QUEUE",
    default: 64,
    min: 0,
    max: 100_000,
    description: "Requests that may wait for a free slot on one model; beyond it the server answers 429.",
  }),
  maxQueuePerKey: defineOption({
    kind: "integer",
    flag: "--max-queue-per-key",
    env: "OSTROM_MAX_QUEUE_PER_KEY",
    default: 16,
    min: 1,
    max: 100_000,
    description:
      "Requests one API key may have waiting per model; beyond it that key gets 429 `queue_full_tenant` while others still queue.",
  }),
  queueTimeout: defineOption({
    kind: "seconds",
    flag: "--queue-timeout",
    env: "OSTROM_QUEUE_TIMEOUT",
    default: 120,
    min: 0,
    description:
      "Longest a request waits for a slot before 429 `queue_timeout`, and (separately, before that) for token quota held by running requests' reservations before 429 `quota_exceeded`; 0 waits without limit.",
  }),
  keepAlive: defineOption({
    kind: "seconds",
    flag: "--keep-alive",
    env: "OSTROM_KEEP_ALIVE",
    default: 300,
    min: 0,
    description: "Seconds a model stays loaded after its last request; 0 unloads it at once.",
  }),
  maxLoadedModels: defineOption({
    kind: "integer",
    flag: "--max-loaded-models",
    env: "OSTROM_MAX_LOADED_MODELS",
    default: 3,
    min: 1,
    max: 64,
    description: "Models kept loaded at once; the least recently used idle one is unloaded to make room.",
  }),
  memoryLimit: defineOption({
    kind: "bytes",
    flag: "--memory-limit",
    env: "OSTROM_MEMORY_LIMIT",
    default: 0,
    defaultText: "0 (the memory the system reports as available)",
    description:
      "Memory all loaded models may use (e.g. 8GiB). A model whose estimated need exceeds what is left is " +
      "refused before loading.",
  }),
  maxBodyBytes: defineOption({
    kind: "bytes",
    flag: "--max-body-bytes",
    env: "OSTROM_MAX_BODY_BYTES",
    default: 4 * 1024 * 1024,
    description: "Largest accepted HTTP request body; larger ones get 413.",
  }),
  maxOutputTokens: defineOption({
    kind: "integer",
    flag: "--max-output-tokens",
    env: "OSTROM_MAX_OUTPUT_TOKENS",
    default: 4096,
    min: 1,
    description:
      "Upper bound on `max_tokens`; also the default when a request names none (capped by the context).",
  }),
  mirrors: defineOption({
    kind: "list",
    flag: "--mirror",
    env: "OSTROM_MIRRORS",
    default: [],
    defaultText: "none",
    description:
      "Places tried before the hub when pulling models: HTTP(S) base URLs or local folders. Repeat the flag " +
      "or separate with commas.",
  }),
  offline: defineOption({
    kind: "boolean",
    flag: "--offline",
    env: "OSTROM_OFFLINE",
    default: false,
    description: "Never contact a model hub; only mirrors and the local store are used.",
  }),
  defaultModel: defineOption({
    kind: "string",
    flag: "--default-model",
    env: "OSTROM_DEFAULT_MODEL",
    default: "smollm2-135m-instruct",
    description: "Catalog model pulled on first start when the store is empty (skipped when offline).",
  }),
  pullOnStart: defineOption({
    kind: "boolean",
    flag: "--pull-on-start",
    env: "OSTROM_PULL_ON_START",
    default: true,
    description: "Pull the default model in the background on start when the store is empty.",
  }),
  policyFile: defineOption({
    kind: "string",
    flag: "--policy",
    env: "OSTROM_POLICY",
    default: "",
    defaultText: "none (every model may be served)",
    description:
      "JSON serving policy (minimum MOF class, OSI-approved license, training data disclosed, allowed/denied " +
      "licenses, pinned digests). Models that fail it are refused with the rules they fail.",
  }),
  backends: defineOption({
    kind: "list",
    flag: "--backend",
    env: "OSTROM_BACKENDS",
    default: [],
    defaultText: "none (only the local engine)",
    description:
      "Remote OpenAI-compatible engines (vLLM, llama.cpp server, Ollama) to route requests to, as NAME=URL " +
      "with URL the API base (e.g. gpu1=http://10.0.0.5:8000/v1). Repeat the flag or separate with commas.",
  }),
  backendApiKeys: defineOption({
    kind: "list",
    flag: "--backend-api-key",
    env: "OSTROM_BACKEND_API_KEYS",
    default: [],
    defaultText: "none",
    description:
      "API keys for remote backends that require one, as NAME=KEY (sent as `Authorization: Bearer KEY`). " +
      "Prefer the environment variable, so keys stay out of process listings.",
  }),
  backendConcurrency: defineOption({
    kind: "integer",
    flag: "--backend-concurrency",
    env: "OSTROM_BACKEND_CONCURRENCY",
    default: 8,
    min: 1,
    max: 4096,
    description:
      "Requests Ostrom sends to one remote backend at once per model; the rest wait in its fair queue.",
  }),
  backendConnectTimeout: defineOption({
    kind: "seconds",
    flag: "--backend-connect-timeout",
    env: "OSTROM_BACKEND_CONNECT_TIMEOUT",
    default: 30,
    min: 1,
    description:
      "Longest a remote backend may take to accept a request and send its response headers (including its " +
      "own queueing, and prompt processing on servers that send headers with the first token); past it the " +
      "request fails over to another backend or ends in 503.",
  }),
  backendIdleTimeout: defineOption({
    kind: "seconds",
    flag: "--backend-idle-timeout",
    env: "OSTROM_BACKEND_IDLE_TIMEOUT",
    default: 120,
    min: 1,
    description:
      "Longest silence allowed inside a remote backend's streamed answer before it counts as broken.",
  }),
  backendResponseTimeout: defineOption({
    kind: "seconds",
    flag: "--backend-response-timeout",
    env: "OSTROM_BACKEND_RESPONSE_TIMEOUT",
    default: 600,
    min: 1,
    description:
      "Longest wait, after connecting, for a remote backend's whole answer to a request whose client did not stream (Ostrom then asks the backend for a whole answer too, and the backend sends nothing while it generates). The default matches the OpenAI clients' own timeout.",
  }),
  maxUploadBytes: defineOption({
    kind: "bytes",
    flag: "--max-upload-bytes",
    env: "OSTROM_MAX_UPLOAD_BYTES",
    default: 32 * 1024 * 1024,
    description:
      "Largest document upload (one multipart request to a knowledge base, all files together); larger ones " +
      "get 413. Replaces --max-body-bytes on that endpoint only.",
  }),
  maxModelUploadBytes: defineOption({
    kind: "bytes",
    flag: "--max-model-upload-bytes",
    env: "OSTROM_MAX_MODEL_UPLOAD_BYTES",
    default: 64 * 1024 * 1024 * 1024,
    description:
      "Largest GGUF accepted by POST /v1/models/import (streamed to a temporary file, never held in memory); " +
      "larger ones get 413. Replaces --max-body-bytes on that endpoint only.",
  }),
  knowledgeExcludedLicenses: defineOption({
    kind: "list",
    flag: "--knowledge-excluded-licenses",
    env: "OSTROM_KNOWLEDGE_EXCLUDED_LICENSES",
    default: [],
    defaultText: "none (documents under every license, and `unspecified`, may ground answers)",
    description:
      "SPDX license identifiers or patterns (`*` is a wildcard, e.g. CC-BY-NC-*) whose documents must not " +
      "ground answers; they are left out and reported as excluded sources. `unspecified` matches documents " +
      "ingested without a license. Repeat the flag or separate with commas.",
  }),
  knowledgeTopK: defineOption({
    kind: "integer",
    flag: "--knowledge-top-k",
    env: "OSTROM_KNOWLEDGE_TOP_K",
    default: 4,
    min: 1,
    max: 32,
    description: "Sources a grounded answer gets when the request names no `top_k`.",
  }),
  knowledgeFusion: defineOption({
    kind: "string",
    flag: "--knowledge-fusion",
    env: "OSTROM_KNOWLEDGE_FUSION",
    default: "rrf",
    choices: ["rrf", "linear"],
    description:
      "How hybrid search fuses its lexical (BM25) and dense rankings: reciprocal rank fusion, or a weighted " +
      "sum of min-max normalized scores.",
  }),
  knowledgeFusionWeights: defineOption({
    kind: "list",
    flag: "--knowledge-fusion-weights",
    env: "OSTROM_KNOWLEDGE_FUSION_WEIGHTS",
    default: ["1", "1"],
    defaultText: "1,1",
    description:
      "Weights of the lexical and the dense ranking in hybrid search, as LEXICAL,DENSE (e.g. 0.7,0.3).",
  }),
  knowledgeRrfK: defineOption({
    kind: "integer",
    flag: "--knowledge-rrf-k",
    env: "OSTROM_KNOWLEDGE_RRF_K",
    default: 60,
    min: 1,
    max: 10_000,
    description:
      "Rank offset of reciprocal rank fusion; larger values flatten the difference between top ranks.",
  }),
  embeddingBatchSize: defineOption({
    kind: "integer",
    flag: "--embedding-batch-size",
    env: "OSTROM_EMBEDDING_BATCH_SIZE",
    default: 32,
    min: 1,
    max: 2048,
    description:
      "Chunks embedded per engine call when a knowledge base with an embedding model ingests documents.",
  }),
  shutdownTimeout: defineOption({
    kind: "seconds",
    flag: "--shutdown-timeout",
    env: "OSTROM_SHUTDOWN_TIMEOUT",
    default: 30,
    min: 0,
    description: "On SIGTERM/SIGINT, seconds to let in-flight requests finish before exiting anyway.",
  }),
  logLevel: defineOption({
    kind: "string",
    flag: "--log-level",
    env: "OSTROM_LOG_LEVEL",
    default: "info",
    choices: ["error", "warn", "info", "debug"],
    description: "How much the server logs to stderr.",
  }),
} as const;

export type ConfigKey = keyof typeof configSchema;

type KindOf<Key extends ConfigKey> = (typeof configSchema)[Key]["kind"];

/** The typed configuration derived from the schema. */
export type Config = { readonly [Key in ConfigKey]: ValueOfKind<KindOf<Key>> };

export type { OptionDefinition, OptionKind };
