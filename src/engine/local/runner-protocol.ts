// Messages between the engine (parent) and a model runner process (child), over Node's IPC channel.
// One runner holds one model; requests are multiplexed by `id`.
import type { ErrorCode } from "../../errors.ts";
import type {
  ChatRequest,
  CompletionRequest,
  FinishReason,
  ResponseFormat,
  SamplingOptions,
  TokenUsage,
  ToolCall,
} from "../engine.ts";
import type { EngineBuild } from "./resolve-thread-count.ts";

export interface RunnerLoadOptions {
  modelPath: string;
  /** Context window per sequence, already capped to what the caller wants; the runner caps it further to the model's. */
  contextSize: number;
  /** Sequences in the shared context: requests batched together. */
  parallel: number;
  /** Compute threads; 0 lets the runner choose (resolve-thread-count.ts). */
  threads: number;
  /** Tokens per request at most, when the request names none. */
  maxOutputTokens: number;
}

export type RunnerChatRequest = Omit<ChatRequest, "model">;
export type RunnerCompletionRequest = Omit<CompletionRequest, "model">;

export type ParentMessage =
  | { type: "load"; options: RunnerLoadOptions }
  | { type: "chat"; id: number; request: RunnerChatRequest }
  | { type: "complete"; id: number; request: RunnerCompletionRequest }
  | { type: "embed"; id: number; inputs: string[] }
  | { type: "cancel"; id: number }
  | { type: "shutdown" };

export interface SerializedError {
  code: ErrorCode;
  message: string;
  param?: string;
}

export interface RunnerModelInfo {
  contextSize: number;
  trainContextSize: number;
  parallel: number;
  threads: number;
  /** `openmp` for the local OpenMP build (persistent threads), `prebuilt` otherwise. */
  engineBuild: EngineBuild;
}

export type RunnerMessage =
  | { type: "ready"; info: RunnerModelInfo }
  | { type: "load_failed"; error: SerializedError }
  | { type: "text"; id: number; text: string }
  | { type: "done"; id: number; finishReason: FinishReason; usage: TokenUsage; toolCalls: ToolCall[] }
  | { type: "embedded"; id: number; vectors: number[][]; promptTokens: number }
  | { type: "error"; id: number; error: SerializedError };

export type { ResponseFormat, SamplingOptions };
