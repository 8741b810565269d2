// `ostrom kb`: knowledge bases from the command line — create, list, remove, add documents (with
// progress on stderr and one line per failed file) and search. The database is ostrom.db in the
// data directory, shared with the server.
import path from "node:path";
import { invalidParameter } from "../../errors.ts";
import { createEngineEmbedder } from "../../knowledge/engine-embedder.ts";
import { formatScore } from "../../knowledge/format-sources.ts";
import { type FileOutcome, ingestPaths } from "../../knowledge/ingest-documents.ts";
import { KnowledgeSearch } from "../../knowledge/knowledge-search.ts";
import { KnowledgeStore } from "../../knowledge/knowledge-store.ts";
import { createEngine } from "../../runtime/create-engine.ts";
import { getKnowledgeDatabasePath } from "../../runtime/open-knowledge-service.ts";
import { openStore } from "../../runtime/open-store.ts";
import { openSqliteDatabase } from "../../storage/sqlite/open-sqlite-database.ts";
import type { Command, CommandInput } from "../command.ts";
import { formatTable } from "./ls-command.ts";
import { quietUnlessVerbose, resolveModel } from "./run-command.ts";

const usage = [
  "ostrom kb create NAME [--description TEXT] [--model MODEL] [--embedding-model MODEL]",
  "       ostrom kb ls [NAME] [--json]",
  "       ostrom kb rm NAME",
  "       ostrom kb add NAME PATH… [--license SPDX] [--attribution TEXT]",
  '       ostrom kb search NAME "QUERY" [--limit N] [--json]',
].join("\n");

export const kbCommand: Command = {
  name: "kb",
  usage,
  summary: "Knowledge bases: create, list, remove, add documents to and search them.",
  flags: {
    json: { type: "boolean", description: "Print JSON for machines (ls, search)." },
    license: {
      type: "string",
      description: "SPDX license expression of the added documents (add); default `unspecified`.",
    },
    attribution: {
      type: "string",
      description: "Credit line shown with results from the added documents (add).",
    },
    description: { type: "string", description: "What the knowledge base holds (create)." },
    model: {
      type: "string",
      description:
        "Model answering questions from it, `kb:NAME` and `ostrom ask` (create); default: the default model.",
    },
    "embedding-model": {
      type: "string",
      description:
        "Embedding model its chunks are embedded with for hybrid search (create); default: none, BM25 only.",
    },
    limit: { type: "string", description: "Results to show (search); default 5." },
  },
  positionals: [1, Number.MAX_SAFE_INTEGER],
  async run(input) {
    const [action, ...rest] = input.positionals;
    const database = openSqliteDatabase(getKnowledgeDatabasePath(input.config));
    try {
      const store = KnowledgeStore.open(database);
      switch (action) {
        case "create":
          return await runCreate(store, rest, input);
        case "ls":
          return runList(store, rest, input);
        case "rm":
          return runRemove(store, rest, input);
        case "add":
          return await runAdd(store, rest, input);
        case "search":
          return await runSearch(store, rest, input);
        default:
          input.stderr.write(`ostrom kb: unknown action "${action ?? ""}"\nUsage: ${usage}\n`);
          return 2;
      }
    } finally {
      database.close();
    }
  },
};

function expectArguments(rest: string[], min: number, max: number, input: CommandInput): boolean {
  if (rest.length >= min && rest.length <= max) return true;
  input.stderr.write(`ostrom kb: wrong number of arguments\nUsage: ${usage}\n`);
  return false;
}

async function runCreate(store: KnowledgeStore, rest: string[], input: CommandInput): Promise<number> {
  if (!expectArguments(rest, 1, 1, input)) return 2;
  const description = typeof input.flags.description === "string" ? input.flags.description : "";
  const models = await openStore(input.config);
  // Model names are checked now, so that a typo fails here and not at the first question.
  const chatModel =
    typeof input.flags.model === "string" ? (await models.resolve(input.flags.model)).ref : undefined;
  const embeddingModel =
    typeof input.flags["embedding-model"] === "string"
      ? (await models.resolve(input.flags["embedding-model"])).ref
      : undefined;
  const created = store.createKnowledgeBase(rest[0] ?? "", {
    description,
    ...(chatModel ? { chatModel } : {}),
    ...(embeddingModel ? { embeddingModel } : {}),
  });
  input.stdout.write(`Created knowledge base ${created.name}.\n`);
  return 0;
}

function runList(store: KnowledgeStore, rest: string[], input: CommandInput): number {
  if (!expectArguments(rest, 0, 1, input)) return 2;
  const name = rest[0];
  if (name !== undefined) {
    const knowledgeBase = store.getKnowledgeBase(name);
    const documents = store.listDocuments(knowledgeBase.id);
    if (input.flags.json) {
      input.stdout.write(`${JSON.stringify(documents, null, 2)}\n`);
      return 0;
    }
    input.stdout.write(
      formatTable(
        ["ID", "TITLE", "SOURCE", "CHUNKS", "LICENSE", "INGESTED"],
        documents.map((document) => [
          String(document.id),
          truncate(document.title, 40),
          truncate(document.item ? `${document.source}#${document.item}` : document.source, 60),
          String(document.chunkCount),
          document.license,
          document.ingestedAt.slice(0, 19),
        ]),
      ),
    );
    return 0;
  }
  const knowledgeBases = store.listKnowledgeBases();
  if (input.flags.json) {
    input.stdout.write(`${JSON.stringify(knowledgeBases, null, 2)}\n`);
    return 0;
  }
  if (knowledgeBases.length === 0) {
    input.stdout.write("No knowledge bases. Create one with `ostrom kb create NAME`.\n");
    return 0;
  }
  input.stdout.write(
    formatTable(
      ["NAME", "DOCUMENTS", "CHUNKS", "EMBEDDINGS", "CREATED"],
      knowledgeBases.map((knowledgeBase) => [
        knowledgeBase.name,
        String(knowledgeBase.documentCount),
        String(knowledgeBase.chunkCount),
        knowledgeBase.embeddingModel ?? "-",
        knowledgeBase.createdAt.slice(0, 19),
      ]),
    ),
  );
  return 0;
}

function runRemove(store: KnowledgeStore, rest: string[], input: CommandInput): number {
  if (!expectArguments(rest, 1, 1, input)) return 2;
  store.deleteKnowledgeBase(rest[0] ?? "");
  input.stdout.write(`Removed knowledge base ${rest[0]}.\n`);
  return 0;
}

async function runAdd(store: KnowledgeStore, rest: string[], input: CommandInput): Promise<number> {
  if (!expectArguments(rest, 2, Number.MAX_SAFE_INTEGER, input)) return 2;
  const [name = "", ...paths] = rest;
  const stderr = input.stderr as NodeJS.WritableStream & { isTTY?: boolean };
  let lastDraw = 0;
  // A knowledge base with an embedding model gets its vectors from an in-process engine.
  const embeddingModel = store.getKnowledgeBase(name).embeddingModel;
  await using engine = embeddingModel
    ? createEngine({ ...input.config, keepAlive: 0, parallel: 1 }, quietUnlessVerbose(input))
    : undefined;
  const models = engine ? await openStore(input.config) : undefined;
  const embedder =
    engine && models && embeddingModel
      ? createEngineEmbedder({
          engine,
          model: embeddingModel,
          resolveModel: (ref) => resolveModel(input, ref),
          batchSize: input.config.embeddingBatchSize,
        })
      : undefined;
  const report = await ingestPaths(store, name, paths, {
    ...(embedder ? { embedder, embeddingBatchSize: input.config.embeddingBatchSize } : {}),
    ...(typeof input.flags.license === "string" ? { license: input.flags.license } : {}),
    ...(typeof input.flags.attribution === "string" ? { attribution: input.flags.attribution } : {}),
    onProgress(progress) {
      const now = Date.now();
      const line = `[${progress.fileIndex + 1}/${progress.fileCount}] ${path.basename(progress.file)}${
        progress.documents > 0 ? ` (${progress.documents} documents)` : ""
      }`;
      if (stderr.isTTY) {
        if (now - lastDraw < 100 && progress.documents > 0) return;
        lastDraw = now;
        stderr.write(`\r${line}\x1b[K`);
      } else if (progress.documents === 0 && progress.fileCount > 1) stderr.write(`${line}\n`);
    },
  });
  if (stderr.isTTY) stderr.write("\r\x1b[K");
  for (const file of report.files) reportFile(file, input);
  const { added, updated, unchanged, removed } = report.documents;
  input.stdout.write(
    `${name}: ${added} added, ${updated} updated, ${unchanged} unchanged, ${removed} removed documents ` +
      `(${report.chunks} chunks) in ${report.seconds.toFixed(1)} s` +
      `${report.failed > 0 ? `; ${report.failed} file${report.failed === 1 ? "" : "s"} failed` : ""}.\n`,
  );
  return report.failed > 0 ? 1 : 0;
}

function reportFile(file: FileOutcome, input: CommandInput): void {
  if (file.error) input.stderr.write(`error: ${file.error.message} [${file.error.code}]\n`);
  const shown = file.warnings.slice(0, 5);
  for (const warning of shown) input.stderr.write(`warning: ${file.path}: ${warning}\n`);
  if (file.warnings.length > shown.length)
    input.stderr.write(
      `warning: ${file.path}: ${file.warnings.length - shown.length} more records skipped\n`,
    );
}

async function runSearch(store: KnowledgeStore, rest: string[], input: CommandInput): Promise<number> {
  if (!expectArguments(rest, 2, 2, input)) return 2;
  const limit = input.flags.limit === undefined ? 5 : Number(input.flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw invalidParameter("limit", "--limit must be an integer from 1 to 1000.");
  const hits = await new KnowledgeSearch(store).search(rest[0] ?? "", rest[1] ?? "", { limit });
  if (input.flags.json) {
    input.stdout.write(`${JSON.stringify(hits, null, 2)}\n`);
    return 0;
  }
  if (hits.length === 0) {
    input.stdout.write("No results.\n");
    return 0;
  }
  for (const hit of hits) {
    const where = [hit.item ? `${hit.source}#${hit.item}` : hit.source, hit.location]
      .filter(Boolean)
      .join(" · ");
    input.stdout.write(
      `[${hit.rank}] ${hit.title}  (score ${formatScore(hit.score)})\n` +
        `    ${where}\n` +
        `    license: ${hit.license}${hit.attribution ? ` · ${hit.attribution}` : ""}\n` +
        `    ${truncate(hit.text.replace(/\s+/g, " "), 240)}\n\n`,
    );
  }
  return 0;
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
