// Upper bounds on the tokens a request will use, computed before any tokenizer runs, so quota
// reservations can be made at admission on any backend (local or remote). No tokenizer of the
// families we serve (byte-level BPE, SentencePiece with byte fallback) emits more tokens than the UTF-8
// bytes of the text, so bytes bound the prompt; the chat template's own text (role markers, special
// tokens, a default system prompt some templates add) is bounded by a fixed allowance per message and
// per request. This over-reserves roughly fourfold on English prose, which never lets a burst overshoot
// a limit (settle books actual usage) and costs only while reservations are outstanding: a request they
// keep out waits for them to settle (quota-ledger.ts), and the last request that would fit at its real
// size is refused when what is left of the window is less than its bound.
import type { ChatRequest, CompletionRequest, EmbeddingRequest } from "../engine/engine.ts";

/** Template text per message: role markers and separators, e.g. `<|im_start|>user\n…<|im_end|>\n`. */
const templateTokensPerMessage = 16;
/** Per request: BOS, the generation prompt and a default system prompt some templates insert. */
const templateTokensPerRequest = 64;

const encoder = new TextEncoder();

function countBytes(text: string): number {
  return encoder.encode(text).byteLength;
}

export function estimateChatPromptTokens(request: Pick<ChatRequest, "messages" | "tools">): number {
  let tokens = templateTokensPerRequest;
  for (const message of request.messages) {
    tokens += templateTokensPerMessage + countBytes(message.content);
    for (const call of message.toolCalls ?? []) tokens += countBytes(call.name) + countBytes(call.arguments);
  }
  if (request.tools.length > 0)
    tokens += countBytes(JSON.stringify(request.tools)) + templateTokensPerMessage;
  return tokens;
}

export function estimateCompletionPromptTokens(request: Pick<CompletionRequest, "prompt">): number {
  return templateTokensPerRequest + countBytes(request.prompt);
}

export function estimateEmbeddingPromptTokens(request: Pick<EmbeddingRequest, "inputs">): number {
  return request.inputs.reduce((sum, input) => sum + countBytes(input) + 2, 0);
}
