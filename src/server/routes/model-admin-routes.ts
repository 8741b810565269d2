// Managing the model store over HTTP, for administrators: pull with streamed progress, import by
// upload, remove. Thin: the store (`src/store/`) does the validating and the all-or-nothing writes;
// this module only translates HTTP to it. Uploads are streamed to a temp file in the store (never held
// in memory) under their own limit, --max-model-upload-bytes, instead of the global body limit.
// Must not depend on the CLI or on the engine beyond `unload`.
import { open } from "node:fs/promises";
import { Hono } from "hono";
import { z } from "zod";
import { parseBody } from "../../api/openai/parse-body.ts";
import type { Config } from "../../config/config-schema.ts";
import { invalidParameter, OstromError } from "../../errors.ts";
import { removeFileQuietly } from "../../store/fs-helpers.ts";
import type { ModelEntry, ModelStore } from "../../store/model-store.ts";
import { type PullProgressEvent, pullModel } from "../../store/pull-model.ts";
import type { AppContext } from "../app-context.ts";
import { type AppEnv, assertAdmin, getPrincipal } from "../app-env.ts";
import { readJsonBody } from "../read-json-body.ts";
import { createNdjsonResponse } from "../stream-response.ts";

/** What the model admin endpoints need beyond the read-only catalog; absent: they answer 404. */
export interface ModelAdminDeps {
  store: ModelStore;
  config: Pick<Config, "mirrors" | "offline" | "maxModelUploadBytes">;
}

/** True for the upload endpoint, which the global body limit leaves to this module's own limit. */
export function isModelUpload(method: string, path: string): boolean {
  return method === "POST" && path === "/v1/models/import";
}

const pullSchema = z.object({
  model: z.string().min(1).max(2048),
  name: z.string().min(1).max(256).optional(),
  stream: z.boolean().optional(),
});

/** One line of a pull's NDJSON stream. */
export interface PullStatusLine {
  status: string;
  completed?: number;
  total?: number;
  id?: string;
}

export function createModelAdminRoutes(context: AppContext, deps: ModelAdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post("/models/pull", async (c) => {
    assertAdmin(getPrincipal(c));
    const body = parseBody(pullSchema, await readJsonBody(c));
    const controller = new AbortController();
    // A client that goes away aborts the pull through the request's signal: returning the generator
    // alone would wait behind a progress event that a stalled download may never send.
    c.req.raw.signal.addEventListener("abort", () => controller.abort(), { once: true });
    return createNdjsonResponse(streamPull(deps, body.model, body.name, controller), context.log);
  });

  app.post("/models/import", async (c) => {
    assertAdmin(getPrincipal(c));
    const name = c.req.query("name");
    if (!name) throw invalidParameter("name", "Give the model's name as ?name=NAME[:TAG].");
    const entry = await importUpload(deps, name, c.req.raw);
    return c.json(toModelJson(entry), 201);
  });

  app.delete("/models/:ref{.+}", async (c) => {
    assertAdmin(getPrincipal(c));
    const removed = await removeModel(context, deps, c.req.param("ref"));
    return c.json({ id: removed.ref, object: "model", deleted: true });
  });

  return app;
}

const ollamaDeleteSchema = z.object({ model: z.string().min(1).max(256) });

/** Ollama's `POST /api/pull` and `DELETE /api/delete`, on the same code; mounted under `/api`. */
export function createOllamaModelAdminRoutes(context: AppContext, deps: ModelAdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post("/pull", async (c) => {
    assertAdmin(getPrincipal(c));
    const body = parseBody(pullSchema, await readJsonBody(c));
    const controller = new AbortController();
    c.req.raw.signal.addEventListener("abort", () => controller.abort(), { once: true });
    const lines = streamPull(deps, body.model, body.name, controller);
    if (body.stream !== false) return createNdjsonResponse(lines, context.log);
    for await (const line of lines) if (line.status === "success") return c.json({ status: "success" });
    throw new Error("a pull ended without success or error");
  });

  app.delete("/delete", async (c) => {
    assertAdmin(getPrincipal(c));
    const body = parseBody(ollamaDeleteSchema, await readJsonBody(c));
    await removeModel(context, deps, body.model);
    return c.body(null, 200);
  });

  return app;
}

async function removeModel(context: AppContext, deps: ModelAdminDeps, ref: string) {
  const removed = await deps.store.remove(ref);
  if (removed.digest !== undefined && removed.blobRemoved) await context.engine.unload(removed.digest);
  return removed;
}

function toModelJson(entry: ModelEntry): object {
  return { id: entry.ref, object: "model", digest: entry.digest, size: entry.size };
}

/**
 * Runs a pull and yields its progress. Download events are coalesced (only the latest waits), so a
 * slow reader holds at most one pending line however fast the bytes arrive.
 */
async function* streamPull(
  deps: ModelAdminDeps,
  model: string,
  name: string | undefined,
  controller: AbortController,
): AsyncGenerator<PullStatusLine> {
  const pending: PullStatusLine[] = [];
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const onProgress = (event: PullProgressEvent): void => {
    const line = toStatusLine(event);
    const last = pending.at(-1);
    if (last !== undefined && last.status === line.status) pending[pending.length - 1] = line;
    else pending.push(line);
    notify();
  };
  let outcome: { entry: ModelEntry } | { error: unknown } | undefined;
  const pulling = pullModel(deps.store, model, {
    ...(name !== undefined ? { name } : {}),
    mirrors: deps.config.mirrors,
    offline: deps.config.offline,
    signal: controller.signal,
    onProgress,
  }).then(
    (entry) => {
      outcome = { entry };
      notify();
    },
    (error: unknown) => {
      outcome = { error };
      notify();
    },
  );
  try {
    for (;;) {
      const line = pending.shift();
      if (line !== undefined) {
        yield line;
        continue;
      }
      if (outcome !== undefined) {
        if ("error" in outcome) throw outcome.error;
        yield { status: "success", id: outcome.entry.ref };
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    // Reached early only when the client went away: stop the download and wait for its cleanup.
    if (outcome === undefined) controller.abort();
    await pulling;
  }
}

function toStatusLine(event: PullProgressEvent): PullStatusLine {
  const line: PullStatusLine = { status: event.phase, completed: event.receivedBytes };
  if (event.totalBytes !== undefined) line.total = event.totalBytes;
  return line;
}

/** Streams the request body to a temp file in the store, bounded, then imports it; the temp file never stays. */
async function importUpload(deps: ModelAdminDeps, name: string, request: Request): Promise<ModelEntry> {
  const limit = deps.config.maxModelUploadBytes;
  const tooLarge = () =>
    new OstromError(
      "request_too_large",
      `The model upload exceeds the limit of ${limit} bytes (--max-model-upload-bytes).`,
    );
  const declared = request.headers.get("content-length");
  if (declared !== null && Number.parseInt(declared, 10) > limit) throw tooLarge();
  if (request.body === null)
    throw new OstromError("invalid_model_file", "The request body is empty; send the GGUF file.");
  const temp = deps.store.createTempPath("upload");
  try {
    const handle = await open(temp, "wx");
    let received = 0;
    try {
      for await (const chunk of request.body) {
        received += chunk.byteLength;
        if (received > limit) throw tooLarge();
        await handle.write(chunk);
      }
    } finally {
      await handle.close();
    }
    return await deps.store.importFile(temp, { name, move: true, signal: request.signal });
  } finally {
    await removeFileQuietly(temp);
  }
}
