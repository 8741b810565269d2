// Ostrom's MCP server (official SDK): the tools `list_knowledge_bases`, `search_knowledge` and `ask`
// (an answer grounded in a knowledge base, with its numbered sources, licenses and attributions).
// Transport-free: `ostrom mcp` connects it to stdio, the HTTP server to streamable HTTP at /mcp.
// Tool failures come back as tool errors (`isError`) with Ostrom's message and code, never a crash.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { collectGeneration } from "../api/openai/generation-output.ts";
import { toSourcesFields } from "../api/openai/knowledge-sources.ts";
import { isOstromError } from "../errors.ts";
import { askKnowledgeBase, type KnowledgeAnswerer } from "../knowledge/ask-knowledge-base.ts";
import { formatScore, formatSources } from "../knowledge/format-sources.ts";
import type { Logger } from "../util/logger.ts";

export interface McpServerOptions {
  answerer: KnowledgeAnswerer;
  /** Reported to clients on initialization. Default "0.1.0". */
  version?: string;
  log: Logger;
  /** Tokens an `ask` answer may have at most. Default 512. */
  maxAnswerTokens?: number;
}

export function createMcpServer(options: McpServerOptions): McpServer {
  const { answerer, log } = options;
  const { knowledge } = answerer;
  const server = new McpServer({ name: "ostrom", version: options.version ?? "0.1.0" });

  server.registerTool(
    "list_knowledge_bases",
    {
      title: "List knowledge bases",
      description: "The knowledge bases on this Ostrom server, with their document counts.",
      annotations: { readOnlyHint: true },
    },
    async () =>
      guard(log, async () => {
        const data = knowledge.store.listKnowledgeBases().map((knowledgeBase) => ({
          name: knowledgeBase.name,
          description: knowledgeBase.description,
          documents: knowledgeBase.documentCount,
          chunks: knowledgeBase.chunkCount,
          model: knowledgeBase.chatModel,
          embedding_model: knowledgeBase.embeddingModel,
        }));
        return {
          content: [
            {
              type: "text",
              text:
                data.length === 0
                  ? "No knowledge bases."
                  : data
                      .map(
                        (item) =>
                          `${item.name}: ${item.documents} documents${item.description ? ` — ${item.description}` : ""}`,
                      )
                      .join("\n"),
            },
          ],
          structuredContent: { knowledge_bases: data },
        };
      }),
  );

  server.registerTool(
    "search_knowledge",
    {
      title: "Search a knowledge base",
      description:
        "Passages of a knowledge base that best match a query, best first, each with its title, location, " +
        "score, license and attribution.",
      inputSchema: {
        kb: z.string().min(1).max(64).describe("Knowledge base name"),
        query: z.string().min(1).max(4096).describe("What to search for"),
        limit: z.number().int().min(1).max(50).optional().describe("Passages wanted (default 5)"),
      },
      annotations: { readOnlyHint: true },
    },
    async ({ kb, query, limit }, extra) =>
      guard(log, async () => {
        const hits = await knowledge.searchKnowledgeBase(kb, query, {
          limit: limit ?? 5,
          signal: extra.signal,
        });
        const results = hits.map((hit) => {
          const source = hit.item ? `${hit.source}#${hit.item}` : hit.source;
          return {
            rank: hit.rank,
            score: hit.score,
            title: hit.title,
            location: [source, hit.location].filter(Boolean).join(" · "),
            text: hit.text,
            license: hit.license,
            attribution: hit.attribution,
            document_id: hit.documentId,
          };
        });
        const text =
          results.length === 0
            ? "No results."
            : results
                .map(
                  (hit) =>
                    `[${hit.rank}] ${hit.title} — ${hit.location} (score ${formatScore(hit.score)}; license: ${hit.license}${hit.attribution ? ` · ${hit.attribution}` : ""})\n${hit.text}`,
                )
                .join("\n\n");
        return { content: [{ type: "text", text }], structuredContent: { results } };
      }),
  );

  server.registerTool(
    "ask",
    {
      title: "Ask a knowledge base",
      description:
        "Answers a question from a knowledge base with a local model. The answer cites its sources inline " +
        "as [1], [2]…; the numbered sources follow with their license and attribution.",
      inputSchema: {
        kb: z.string().min(1).max(64).describe("Knowledge base name"),
        question: z.string().min(1).max(8192).describe("The question"),
      },
    },
    async ({ kb, question }, extra) =>
      guard(log, async () => {
        const answer = await askKnowledgeBase(answerer, kb, question, {
          maxTokens: options.maxAnswerTokens ?? 512,
          signal: extra.signal,
        });
        const result = await collectGeneration(answer.events);
        const { sources, excluded } = answer.grounded;
        return {
          content: [{ type: "text", text: `${result.text.trim()}\n\n${formatSources(sources, excluded)}` }],
          structuredContent: {
            answer: result.text,
            model: answer.model.ref,
            ...toSourcesFields(answer.grounded),
          },
        };
      }),
  );

  return server;
}

/** Ostrom's own errors become tool errors the model can read; others are logged and hidden. */
async function guard(log: Logger, work: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await work();
  } catch (error) {
    if (isOstromError(error))
      return { isError: true, content: [{ type: "text", text: `${error.message} [${error.code}]` }] };
    log.error(`MCP tool failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return { isError: true, content: [{ type: "text", text: "Internal error [internal_error]" }] };
  }
}
