// Knowledge-base endpoints under /v1, in snake_case JSON: knowledge bases (list, create, delete),
// their documents (list, multipart upload, delete) and search. Thin: each route validates, calls the
// knowledge service and maps the result. Uploads have their own size limit (`--max-upload-bytes`),
// enforced here instead of the global body limit (see create-app.ts).
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { parseBody } from "../../api/openai/parse-body.ts";
import { invalidParameter, OstromError } from "../../errors.ts";
import type { KnowledgeService, UploadedFile } from "../../knowledge/knowledge-service.ts";
import type { KnowledgeBase, KnowledgeDocument } from "../../knowledge/knowledge-store.ts";
import type { AppContext } from "../app-context.ts";
import { readJsonBody } from "../read-json-body.ts";

/** True for the upload endpoint, which the global body limit leaves to this module's own limit. */
export function isDocumentUpload(method: string, path: string): boolean {
  return method === "POST" && /^\/v1\/knowledge-bases\/[^/]+\/documents\/?$/.test(path);
}

const createSchema = z
  .object({
    name: z.string().min(1).max(64),
    description: z.string().max(4096).optional(),
    model: z.string().min(1).max(256).nullish(),
    embedding_model: z.string().min(1).max(256).nullish(),
  })
  .strict();

const searchSchema = z.object({
  query: z.string().min(1).max(4096),
  limit: z.number().int().min(1).max(100).optional(),
});

/** Most files one upload request may hold. */
const maxFilesPerUpload = 256;

export function createKnowledgeRoutes(context: AppContext): Hono {
  const app = new Hono();
  const service = (): KnowledgeService => {
    if (!context.knowledge) throw new OstromError("not_found", "This server has no knowledge bases.");
    return context.knowledge;
  };

  app.get("/knowledge-bases", (c) =>
    c.json({ object: "list", data: service().store.listKnowledgeBases().map(toKnowledgeBaseJson) }),
  );

  app.post("/knowledge-bases", async (c) => {
    const body = parseBody(createSchema, await readJsonBody(c));
    const knowledge = service();
    // Model names are checked now, so that a typo fails here and not at the first question.
    if (body.model) await context.models.resolve(body.model);
    const embeddingModel = body.embedding_model
      ? (await context.models.resolve(body.embedding_model)).ref
      : undefined;
    const created = knowledge.store.createKnowledgeBase(body.name, {
      ...(body.description !== undefined ? { description: body.description } : {}),
      ...(body.model ? { chatModel: body.model } : {}),
      ...(embeddingModel ? { embeddingModel } : {}),
    });
    return c.json(toKnowledgeBaseJson(created), 201);
  });

  app.get("/knowledge-bases/:name", (c) =>
    c.json(toKnowledgeBaseJson(service().store.getKnowledgeBase(c.req.param("name")))),
  );

  app.delete("/knowledge-bases/:name", (c) => {
    const name = c.req.param("name");
    service().deleteKnowledgeBase(name);
    return c.json({ name, deleted: true });
  });

  app.get("/knowledge-bases/:name/documents", (c) => {
    const { store } = service();
    const knowledgeBase = store.getKnowledgeBase(c.req.param("name"));
    return c.json({ object: "list", data: store.listDocuments(knowledgeBase.id).map(toDocumentJson) });
  });

  app.post(
    "/knowledge-bases/:name/documents",
    async (c, next) => {
      const limit = service().maxUploadBytes;
      return bodyLimit({
        maxSize: limit,
        onError: () => {
          throw new OstromError(
            "request_too_large",
            `The upload exceeds the limit of ${limit} bytes (--max-upload-bytes).`,
          );
        },
      })(c, next);
    },
    async (c) => {
      const knowledge = service();
      const name = c.req.param("name");
      knowledge.store.getKnowledgeBase(name);
      const form = await readForm(c.req.raw);
      const files: UploadedFile[] = [];
      for (const part of form.getAll("file")) {
        if (typeof part === "string")
          throw invalidParameter(
            "file",
            "Each `file` part must be a file (with a filename), not a text field.",
          );
        files.push({ fileName: sanitizeFileName(part.name), content: Buffer.from(await part.arrayBuffer()) });
      }
      if (files.length === 0)
        throw invalidParameter("file", "Send one or more `file` parts (multipart/form-data).");
      if (files.length > maxFilesPerUpload)
        throw invalidParameter("file", `At most ${maxFilesPerUpload} files per upload.`);
      const outcomes = await knowledge.ingestUploads(name, files, {
        ...optionalText(form, "license"),
        ...optionalText(form, "attribution"),
        signal: c.req.raw.signal,
      });
      return c.json({
        object: "list",
        data: outcomes.map((outcome) => ({
          file: outcome.file,
          title: outcome.title,
          status: outcome.status,
          ...(outcome.error ? { error: outcome.error } : {}),
        })),
      });
    },
  );

  app.delete("/knowledge-bases/:name/documents/:id", (c) => {
    const { store } = service();
    const knowledgeBase = store.getKnowledgeBase(c.req.param("name"));
    const id = Number(c.req.param("id"));
    if (!Number.isSafeInteger(id) || id < 1)
      throw invalidParameter("id", "A document id is a positive integer.");
    store.deleteDocument(knowledgeBase.id, id);
    return c.json({ id, deleted: true });
  });

  app.post("/knowledge-bases/:name/search", async (c) => {
    const body = parseBody(searchSchema, await readJsonBody(c));
    const hits = await service().searchKnowledgeBase(c.req.param("name"), body.query, {
      limit: body.limit ?? 10,
      signal: c.req.raw.signal,
    });
    return c.json({
      object: "list",
      data: hits.map((hit) => {
        const source = hit.item ? `${hit.source}#${hit.item}` : hit.source;
        return {
          rank: hit.rank,
          score: hit.score,
          title: hit.title,
          location: [source, hit.location].filter(Boolean).join(" · "),
          source,
          text: hit.text,
          license: hit.license,
          attribution: hit.attribution,
          document_id: hit.documentId,
        };
      }),
    });
  });

  return app;
}

async function readForm(request: Request): Promise<FormData> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("multipart/form-data"))
    throw invalidParameter("file", "Upload documents as multipart/form-data with one or more `file` parts.");
  try {
    return await request.formData();
  } catch (error) {
    // The body limit reports itself; anything else is a malformed form.
    if (error instanceof OstromError) throw error;
    throw invalidParameter("file", `The multipart body cannot be read: ${(error as Error).message}`);
  }
}

function optionalText(
  form: FormData,
  field: "license" | "attribution",
): Partial<Record<typeof field, string>> {
  const value = form.get(field);
  if (value === null) return {};
  if (typeof value !== "string") throw invalidParameter(field, `\`${field}\` must be a text field.`);
  if (value.length > 1024) throw invalidParameter(field, `\`${field}\` is longer than 1024 characters.`);
  return { [field]: value };
}

/** The base name only: a client's path must not name where anything is stored or shown. */
function sanitizeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop()?.trim() ?? "";
  return (base === "" ? "upload" : base).slice(0, 255);
}

function toKnowledgeBaseJson(knowledgeBase: KnowledgeBase) {
  return {
    name: knowledgeBase.name,
    description: knowledgeBase.description,
    model: knowledgeBase.chatModel,
    embedding_model: knowledgeBase.embeddingModel,
    documents: knowledgeBase.documentCount,
    chunks: knowledgeBase.chunkCount,
    created_at: knowledgeBase.createdAt,
  };
}

function toDocumentJson(document: KnowledgeDocument) {
  return {
    id: document.id,
    title: document.title,
    source: document.item ? `${document.source}#${document.item}` : document.source,
    format: document.format,
    license: document.license,
    attribution: document.attribution,
    chunks: document.chunkCount,
    bytes: document.bytes,
    ingested_at: document.ingestedAt,
  };
}
