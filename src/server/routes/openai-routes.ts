// OpenAI-compatible endpoints. Each route parses (src/api/openai), resolves the model, calls the
// engine and formats; no generation logic lives here.
import { Hono } from "hono";
import { parseChatRequest } from "../../api/openai/chat-request.ts";
import { parseCompletionRequest } from "../../api/openai/completion-request.ts";
import { parseEmbeddingRequest } from "../../api/openai/embedding-request.ts";
import { collectGeneration, toChatChunks, toCompletionChunks } from "../../api/openai/generation-output.ts";
import {
  createResponseId,
  toChatCompletion,
  toCompletion,
  toEmbeddingList,
} from "../../api/openai/responses.ts";
import type { ModelEntry } from "../../store/model-store.ts";
import { type AppContext, toModelHandle } from "../app-context.ts";
import { readJsonBody } from "../read-json-body.ts";
import { createSseResponse } from "../stream-response.ts";

export function createOpenAIRoutes(context: AppContext): Hono {
  const { engine, models, log } = context;
  const limits = { maxOutputTokens: context.config.maxOutputTokens };
  const app = new Hono();

  app.get("/models", async (c) => c.json({ object: "list", data: (await models.list()).map(toOpenAIModel) }));

  app.get("/models/:ref{.+}", async (c) => c.json(toOpenAIModel(await models.resolve(c.req.param("ref")))));

  app.post("/chat/completions", async (c) => {
    const parsed = parseChatRequest(await readJsonBody(c), limits);
    const model = toModelHandle(await models.resolve(parsed.modelName));
    const head = { id: createResponseId("chatcmpl"), created: nowSeconds(), model: model.ref };
    const events = engine.chat({ ...parsed.request, model }, c.req.raw.signal);
    if (parsed.stream) return createSseResponse(toChatChunks(head, events, parsed.includeUsage), log);
    return c.json(toChatCompletion(head, await collectGeneration(events)));
  });

  app.post("/completions", async (c) => {
    const parsed = parseCompletionRequest(await readJsonBody(c), limits);
    const model = toModelHandle(await models.resolve(parsed.modelName));
    const head = { id: createResponseId("cmpl"), created: nowSeconds(), model: model.ref };
    const events = engine.complete({ ...parsed.request, model }, c.req.raw.signal);
    if (parsed.stream) return createSseResponse(toCompletionChunks(head, events, parsed.includeUsage), log);
    const result = await collectGeneration(events);
    return c.json(toCompletion(head, result.text, result.finishReason, result.usage));
  });

  app.post("/embeddings", async (c) => {
    const parsed = parseEmbeddingRequest(await readJsonBody(c));
    const model = toModelHandle(await models.resolve(parsed.modelName));
    const result = await engine.embed({ model, inputs: parsed.inputs }, c.req.raw.signal);
    return c.json(toEmbeddingList(model.ref, result.vectors, parsed.encoding, result.usage.promptTokens));
  });

  return app;
}

function toOpenAIModel(entry: ModelEntry) {
  return {
    id: entry.ref,
    object: "model" as const,
    created: Math.floor(Date.parse(entry.createdAt) / 1000),
    owned_by: "local",
    digest: entry.digest,
    size: entry.size,
  };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
