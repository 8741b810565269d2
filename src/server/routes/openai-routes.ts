// OpenAI-compatible endpoints. Each route parses (src/api/openai), resolves the model, calls the
// engine and formats; no generation logic lives here.
import { Hono } from "hono";
import { parseChatRequest } from "../../api/openai/chat-request.ts";
import { parseCompletionRequest } from "../../api/openai/completion-request.ts";
import { parseEmbeddingRequest } from "../../api/openai/embedding-request.ts";
import { collectGeneration, toChatChunks, toCompletionChunks } from "../../api/openai/generation-output.ts";
import { prependSourcesChunk } from "../../api/openai/knowledge-sources.ts";
import {
  createResponseId,
  toChatCompletion,
  toCompletion,
  toEmbeddingList,
} from "../../api/openai/responses.ts";
import { createCycloneDxBom } from "../../provenance/cyclonedx-bom.ts";
import { toProvenanceSummaryJson } from "../../provenance/provenance-json.ts";
import type { ProvenanceSummary } from "../../runtime/model-provenance-service.ts";
import type { ModelEntry } from "../../store/model-store.ts";
import { type AppContext, resolveServableModel } from "../app-context.ts";
import type { AppEnv } from "../app-env.ts";
import { getDispatchOptions, startEvents } from "../dispatch-options.ts";
import { applyKnowledgeToChat, listKnowledgeModels } from "../knowledge-chat.ts";
import { readJsonBody } from "../read-json-body.ts";
import { createSseResponse } from "../stream-response.ts";

export function createOpenAIRoutes(context: AppContext): Hono<AppEnv> {
  const { dispatcher, models, provenance, log } = context;
  const describeModel = async (entry: ModelEntry) => toOpenAIModel(entry, await provenance.summarize(entry));
  const limits = { maxOutputTokens: context.config.maxOutputTokens };
  const app = new Hono<AppEnv>();

  app.get("/models", async (c) =>
    c.json({
      object: "list",
      data: [
        ...(await Promise.all((await models.list()).map(describeModel))),
        ...listKnowledgeModels(context),
        ...dispatcher.listRemoteModels().map((remote) => toRemoteModel(remote, provenance.hasPolicy)),
      ],
    }),
  );

  // A model, or with `/bom` appended its AI bill of materials (CycloneDX 1.6), or with `/provenance`
  // its full provenance record, assessment and policy result. Model names may hold slashes
  // (`namespace/name:tag`), so one route takes the whole rest of the path.
  app.get("/models/:ref{.+}", async (c) => {
    const path = c.req.param("ref");
    if (path.endsWith("/provenance"))
      return c.json(await provenance.getReport(await models.resolve(path.slice(0, -"/provenance".length))));
    if (!path.endsWith("/bom")) {
      const alias = listKnowledgeModels(context).find((model) => model.id === path);
      if (alias) return c.json(alias);
      const remote = dispatcher.listRemoteModels().find((model) => model.name === path);
      if (remote && !(await models.has(path))) return c.json(toRemoteModel(remote, provenance.hasPolicy));
      return c.json(await describeModel(await models.resolve(path)));
    }
    const entry = await models.resolve(path.slice(0, -"/bom".length));
    const { record, assessment } = await provenance.describe(entry);
    return c.json(createCycloneDxBom(record, { assessment }), 200, {
      "content-type": "application/vnd.cyclonedx+json",
    });
  });

  app.post("/chat/completions", async (c) => {
    const options = getDispatchOptions(c);
    const parsed = await applyKnowledgeToChat(
      context,
      parseChatRequest(await readJsonBody(c), limits),
      options.signal,
    );
    const { model, headers } = await resolveServableModel(context, parsed.modelName);
    const head = { id: createResponseId("chatcmpl"), created: nowSeconds(), model: model.ref };
    // `stream: false`: a remote backend may answer in one piece (src/engine/remote/remote-engine.ts).
    const request = { ...parsed.request, model, stream: parsed.stream };
    const started = await startEvents(dispatcher.chat(request, options));
    const events = started.events;
    Object.assign(headers, started.headers);
    if (parsed.stream) {
      const chunks = toChatChunks(head, events, parsed.includeUsage);
      return createSseResponse(
        parsed.sources ? prependSourcesChunk(head, chunks, parsed.sources) : chunks,
        log,
        headers,
      );
    }
    const completion = toChatCompletion(head, await collectGeneration(events));
    return c.json(parsed.sources ? { ...completion, ...parsed.sources } : completion, 200, headers);
  });

  app.post("/completions", async (c) => {
    const parsed = parseCompletionRequest(await readJsonBody(c), limits);
    const { model, headers } = await resolveServableModel(context, parsed.modelName);
    const head = { id: createResponseId("cmpl"), created: nowSeconds(), model: model.ref };
    const started = await startEvents(
      dispatcher.complete({ ...parsed.request, model, stream: parsed.stream }, getDispatchOptions(c)),
    );
    const events = started.events;
    Object.assign(headers, started.headers);
    if (parsed.stream)
      return createSseResponse(toCompletionChunks(head, events, parsed.includeUsage), log, headers);
    const result = await collectGeneration(events);
    return c.json(toCompletion(head, result.text, result.finishReason, result.usage), 200, headers);
  });

  app.post("/embeddings", async (c) => {
    const parsed = parseEmbeddingRequest(await readJsonBody(c));
    const { model, headers } = await resolveServableModel(context, parsed.modelName);
    const result = await dispatcher.embed({ model, inputs: parsed.inputs }, getDispatchOptions(c));
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
    provenance: toProvenanceSummaryJson(summary),
  };
}

/** A model a remote backend serves: Ostrom knows only its name and where it runs. */
function toRemoteModel(remote: { name: string; backends: string[] }, hasPolicy: boolean) {
  return {
    id: remote.name,
    object: "model" as const,
    created: 0,
    owned_by: remote.backends.join(","),
    backends: remote.backends,
    provenance: {
      license: "unknown",
      mof_class: "unclassified",
      osaid: "fail",
      flags: ["remote-provenance-unknown"],
      servable: !hasPolicy,
      policy_failures: hasPolicy
        ? [
            {
              rule: "provenance",
              message:
                "Served by a remote backend: its provenance is unknown, so no policy rule can be shown to hold.",
            },
          ]
        : [],
    },
  };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
