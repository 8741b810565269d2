// The engine interface: what the server and CLI ask of whatever runs models. Requests and events are
// Ostrom's own types, free of any wire format (OpenAI/Ollama shapes are translated in src/api/).
// Implementations: `local/` (node-llama-cpp in worker processes). A remote engine can be added beside
// it without touching callers.
import type { CancelSignal } from "../util/cancel-signal.ts";

/** What the engine needs to know to run a model from the store. */
export interface ModelHandle {
  /** `name:tag`, used in responses and logs. */
  ref: string;
  /** `sha256:<hex>`: identity of the weights; runners are keyed by it. */
  digest: string;
  /** Absolute path of the GGUF file. */
  path: string;
}

export type ChatRole = "system" | "user" | "assistant" | "tool";

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments, as OpenAI clients expect. */
  arguments: string;
}

export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** For assistant messages that called tools. */
  toolCalls?: ToolCall[];
  /** For tool messages: the call this is the result of. */
  toolCallId?: string;
  /** For tool messages: the function's name when known. */
  name?: string;
}

/** A JSON Schema object, as given by the client. Validated for shape at the edge. */
export type JsonSchema = { [key: string]: unknown };

export interface ToolDefinition {
  name: string;
  description?: string;
  parameters?: JsonSchema;
}

export type ToolChoice =
  | { type: "auto" }
  | { type: "none" }
  | { type: "required" }
  | { type: "function"; name: string };

export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; schema: JsonSchema };

export interface SamplingOptions {
  /** Tokens to generate at most. Undefined: until the context is full (bounded by config). */
  maxTokens?: number;
  /** 0 is greedy. Default 0.8 as in OpenAI's API default of 1 would be too noisy for small models. */
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  seed?: number;
  stop?: string[];
  repeatPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Token id → bias added to its logit; -100 bans the token, as in OpenAI's `logit_bias`. */
  logitBias?: Record<number, number>;
}

/**
 * Who a generation is for, so an engine that batches several requests into one evaluation step can
 * share each step fairly between tenants (the local engine does; others ignore it). Filled in by the
 * dispatcher; a request without one counts as a tenant of its own with weight 1.
 */
export interface WorkShare {
  /** Stable key of the tenant (API key) the work is for; its requests share one part of each step. */
  key: string;
  /**
   * The groups the tenant belongs to, outermost first (organisation, then team), each with a key and
   * its weight among its siblings; the tenants of the innermost group share it equally. The weights,
   * not a precomputed share, travel with the request because a share depends on who else is active,
   * which the engine sees better at each step than the dispatcher did at admission.
   */
  groups: readonly { key: string; weight: number }[];
}

export interface ChatRequest {
  model: ModelHandle;
  messages: ChatMessage[];
  sampling: SamplingOptions;
  responseFormat: ResponseFormat;
  tools: ToolDefinition[];
  toolChoice: ToolChoice;
  owner?: WorkShare;
  /**
   * Whether the consumer reads the answer as it is generated (default true). `false`: only the whole
   * answer is used (a non-streamed API response), so an engine may deliver it as one text event and
   * `done`; a remote engine then asks its upstream for a non-streamed answer. The local engine ignores it.
   */
  stream?: boolean;
}

export interface CompletionRequest {
  model: ModelHandle;
  prompt: string;
  sampling: SamplingOptions;
  responseFormat: ResponseFormat;
  owner?: WorkShare;
  /** As for chat: `false` when only the whole answer is used. */
  stream?: boolean;
}

export interface EmbeddingRequest {
  model: ModelHandle;
  inputs: string[];
}

export type FinishReason = "stop" | "length" | "tool_calls" | "cancelled";

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/**
 * Generation streams as events: text deltas, then one `done` (tool calls arrive with it). Before the
 * first of them, a request that waits for a slot may get `queued` events with its 1-based position
 * (sent when it changes), so clients can show where they stand.
 */
export type GenerationEvent =
  | { type: "queued"; position: number }
  | { type: "text"; text: string }
  | { type: "done"; finishReason: FinishReason; usage: TokenUsage; toolCalls: ToolCall[] };

export interface EmbeddingResult {
  vectors: number[][];
  usage: { promptTokens: number };
}

export interface LoadedModelInfo {
  ref: string;
  digest: string;
  contextSize: number;
  parallel: number;
  activeRequests: number;
  queuedRequests: number;
  /** Generations stopped early since the model loaded, because their client went away. */
  cancelledRequests: number;
  /** Most requests running at once since the model loaded. */
  peakActiveRequests: number;
  /** Estimated bytes this model holds in memory. */
  memoryBytes: number;
  /** Process id of the runner that holds the model. */
  pid: number | undefined;
  expiresAt: string | undefined;
}

export interface Engine {
  /** Streams a chat answer. Aborting `signal` stops generation and frees the model's slot at once. */
  chat(request: ChatRequest, signal: CancelSignal): AsyncIterable<GenerationEvent>;
  complete(request: CompletionRequest, signal: CancelSignal): AsyncIterable<GenerationEvent>;
  embed(request: EmbeddingRequest, signal: CancelSignal): Promise<EmbeddingResult>;
  /** Loads a model ahead of its first request (otherwise models load on demand). */
  load(model: ModelHandle, signal: CancelSignal): Promise<void>;
  unload(digest: string): Promise<void>;
  listLoaded(): LoadedModelInfo[];
  /** Number of requests queued or running, for draining on shutdown. */
  readonly pendingRequests: number;
  [Symbol.asyncDispose](): Promise<void>;
}
