// Ollama-compatible endpoints, for the many tools that speak Ollama's API. They translate at the edge
// (src/api/ollama) and call the same engine methods as the OpenAI routes.
import { Hono } from "hono";
import { collectOllamaResponse, toOllamaChunks } from "../../api/ollama/ollama-output.ts";
import { parseOllamaChat, parseOllamaEmbed, parseOllamaGenerate } from "../../api/ollama/ollama-requests.ts";
import { hasChatTemplate } from "../../runtime/model-capabilities.ts";
import type { ModelEntry } from "../../store/model-store.ts";
import { type AppContext, resolveServableModel } from "../app-context.ts";
import type { AppEnv } from "../app-env.ts";
import { getDispatchOptions } from "../dispatch-options.ts";
import { applyKnowledgeToChat } from "../knowledge-chat.ts";
import { readJsonBody } from "../read-json-body.ts";
import { createNdjsonResponse } from "../stream-response.ts";

const ollamaApiVersion = "0.6.0";

export function createOllamaRoutes(context: AppContext): Hono<AppEnv> {
  const { engine, dispatcher, models, log } = context;
  const limits = { maxOutputTokens: context.config.maxOutputTokens };
  const app = new Hono<AppEnv>();

  app.get("/version", (c) => c.json({ version: ollamaApiVersion }));

  app.get("/tags", async (c) => c.json({ models: (await models.list()).map(toOllamaModel) }));

  app.get("/ps", (c) =>
    c.json({
      models: engine.listLoaded().map((loaded) => ({
        name: loaded.ref,
        model: loaded.ref,
        digest: loaded.digest.replace(/^sha256:/, ""),
        size: loaded.memoryBytes,
        expires_at: loaded.expiresAt ?? null,
      })),
    }),
  );

  app.post("/chat", async (c) => {
    // `kb:<name>` models answer from a knowledge base here too; the sources ride on the final object
    // (Ollama clients ignore fields they do not know).
    const options = getDispatchOptions(c);
    const parsed = await applyKnowledgeToChat(
      context,
      { ...parseOllamaChat(await readJsonBody(c), limits), includeUsage: false },
      options.signal,
    );
    const { model, headers } = await resolveServableModel(context, parsed.modelName);
    // `stream: false`: a remote backend may answer in one piece (src/engine/remote/remote-engine.ts).
    const events = dispatcher.chat({ ...parsed.request, model, stream: parsed.stream }, options);
    const withSources = <T extends { done: boolean }>(chunk: T) =>
      chunk.done && parsed.sources ? { ...chunk, ...parsed.sources } : chunk;
    if (parsed.stream)
      return createNdjsonResponse(
        mapAsync(toOllamaChunks("chat", model.ref, events), withSources),
        log,
        headers,
      );
    return c.json(withSources(await collectOllamaResponse("chat", model.ref, events)), 200, headers);
  });

  app.post("/generate", async (c) => {
    const parsed = parseOllamaGenerate(await readJsonBody(c), limits);
    const { model, headers } = await resolveServableModel(context, parsed.modelName);
    const useChat = !parsed.raw && (await hasChatTemplate(model));
    const events = useChat
      ? dispatcher.chat({ ...parsed.chat, model, stream: parsed.stream }, getDispatchOptions(c))
      : dispatcher.complete({ ...parsed.completion, model, stream: parsed.stream }, getDispatchOptions(c));
    if (parsed.stream)
      return createNdjsonResponse(toOllamaChunks("generate", model.ref, events), log, headers);
    return c.json(await collectOllamaResponse("generate", model.ref, events), 200, headers);
  });

  app.post("/embed", async (c) => {
    const parsed = parseOllamaEmbed(await readJsonBody(c));
    const { model, headers } = await resolveServableModel(context, parsed.modelName);
    const result = await dispatcher.embed({ model, inputs: parsed.inputs }, getDispatchOptions(c));
    return c.json(
      { model: model.ref, embeddings: result.vectors, prompt_eval_count: result.usage.promptTokens },
      200,
      headers,
    );
  });

  return app;
}

function toOllamaModel(entry: ModelEntry) {
  return {
    name: entry.ref,
    model: entry.ref,
    modified_at: entry.createdAt,
    size: entry.size,
    digest: entry.digest.replace(/^sha256:/, ""),
    details: { format: "gguf" },
  };
}

async function* mapAsync<T, U>(items: AsyncIterable<T>, map: (item: T) => U): AsyncGenerator<U> {
  for await (const item of items) yield map(item);
}
