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
import { createCycloneDxBom } from "../../provenance/cyclonedx-bom.ts";
import type { ProvenanceSummary } from "../../runtime/model-provenance-service.ts";
import type { ModelEntry } from "../../store/model-store.ts";
import { type AppContext, resolveServableModel } from "../app-context.ts";
import { readJsonBody } from "../read-json-body.ts";
import { createSseResponse } from "../stream-response.ts";

export function createOpenAIRoutes(context: AppContext): Hono {
  const { engine, models, provenance, log } = context;
  const describeModel = async (entry: ModelEntry) => toOpenAIModel(entry, await provenance.summarize(entry));
  const limits = { maxOutputTokens: context.config.maxOutputTokens };
  const app = new Hono();

  app.get("/models", async (c) =>
    c.json({ object: "list", data: await Promise.all((await models.list()).map(describeModel)) }),
  );

  // A model, or with `/bom` appended its AI bill of materials (CycloneDX 1.6). Model names may hold
  // slashes (`namespace/name:tag`), so one route takes the whole rest of the path.
  app.get("/models/:ref{.+}", async (c) => {
    const path = c.req.param("ref");
    if (!path.endsWith("/bom")) return c.json(await describeModel(await models.resolve(path)));
    const entry = await models.resolve(path.slice(0, -"/bom".length));
    const { record, assessment } = await provenance.describe(entry);
    return c.json(createCycloneDxBom(record, { assessment }), 200, {
      "content-type": "application/vnd.cyclonedx+json",
    });
  });

  app.post("/chat/completions", async (c) => {
    const parsed = parseChatRequest(await readJsonBody(c), limits);
    const { model, headers } = await resolveServableModel(context, parsed.modelName);
    const head = { id: createResponseId("chatcmpl"), created: nowSeconds(), model: model.ref };
    const events = engine.chat({ ...parsed.request, model }, c.req.raw.signal);
    if (parsed.stream)
      return createSseResponse(toChatChunks(head, events, parsed.includeUsage), log, headers);
    return c.json(toChatCompletion(head, await collectGeneration(events)), 200, headers);
  });

  app.post("/completions", async (c) => {
    const parsed = parseCompletionRequest(await readJsonBody(c), limits);
    const { model, headers } = await resolveServableModel(context, parsed.modelName);
    const head = { id: createResponseId("cmpl"), created: nowSeconds(), model: model.ref };
    const events = engine.complete({ ...parsed.request, model }, c.req.raw.signal);
    if (parsed.stream)
      return createSseResponse(toCompletionChunks(head, events, parsed.includeUsage), log, headers);
    const result = await collectGeneration(events);
    return c.json(toCompletion(head, result.text, result.finishReason, result.usage), 200, headers);
  });

  app.post("/embeddings", async (c) => {
    const parsed = parseEmbeddingRequest(await readJsonBody(c));
    const { model, headers } = await resolveServableModel(context, parsed.modelName);
    const result = await engine.embed({ model, inputs: parsed.inputs }, c.req.raw.signal);
    return c.json(
      toEmbeddingList(model.ref, result.vectors, parsed.encoding, result.usage.promptTokens),
      200,
      headers,
    );
  });

  return app;
}

function toOpenAIModel(entry: ModelEntry, summary: ProvenanceSummary) {
  return {
    id: entry.ref,
    object: "model" as const,
    created: Math.floor(Date.parse(entry.createdAt) / 1000),
    owned_by: "local",
    digest: entry.digest,
    size: entry.size,
    provenance: {
      license: summary.license,
      mof_class: summary.mofClass,
      osaid: summary.osaid,
      flags: summary.flags,
    },
  };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
