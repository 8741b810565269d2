// Ollama-shaped output from the engine's generation events: NDJSON chunks while streaming, one object
// otherwise. Pure over the event iterable.
import type { FinishReason, GenerationEvent } from "../../engine/engine.ts";

type Kind = "chat" | "generate";

function toDoneReason(reason: FinishReason): "stop" | "length" {
  return reason === "length" ? "length" : "stop";
}

function textPart(kind: Kind, text: string) {
  return kind === "chat" ? { message: { role: "assistant", content: text } } : { response: text };
}

export async function* toOllamaChunks(kind: Kind, model: string, events: AsyncIterable<GenerationEvent>) {
  const started = process.hrtime.bigint();
  for await (const event of events) {
    if (event.type === "queued") continue;
    const createdAt = new Date().toISOString();
    if (event.type === "text") {
      yield { model, created_at: createdAt, ...textPart(kind, event.text), done: false };
      continue;
    }
    yield {
      model,
      created_at: createdAt,
      ...textPart(kind, ""),
      done: true,
      done_reason: toDoneReason(event.finishReason),
      total_duration: Number(process.hrtime.bigint() - started),
      prompt_eval_count: event.usage.promptTokens,
      eval_count: event.usage.completionTokens,
    };
  }
}

/** The non-streaming answer: the final chunk carrying all the text. */
export async function collectOllamaResponse(
  kind: Kind,
  model: string,
  events: AsyncIterable<GenerationEvent>,
) {
  let text = "";
  async function* recordText() {
    for await (const event of events) {
      if (event.type === "text") text += event.text;
      yield event;
    }
  }
  for await (const chunk of toOllamaChunks(kind, model, recordText())) {
    if (chunk.done) return { ...chunk, ...textPart(kind, text) };
  }
  throw new Error("generation ended without a done event");
}
