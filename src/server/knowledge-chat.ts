// Grounded chat completions, between parsing and generation: a request for the `kb:<name>` model
// alias or with the `knowledge` extension field gets its messages grounded in the knowledge bases
// (sources in a system message) and, for the alias, the knowledge base's chat model. The chat route
// calls this and adds the returned `sources` fields to its output; other requests pass unchanged.
import type { ParsedChatRequest } from "../api/openai/chat-request.ts";
import { type SourcesFields, toSourcesFields } from "../api/openai/knowledge-sources.ts";
import { invalidParameter } from "../errors.ts";
import { chooseChatModel } from "../knowledge/choose-chat-model.ts";
import { type CancelSignal, toAbortSignal } from "../util/cancel-signal.ts";
import type { AppContext } from "./app-context.ts";

/** The model alias prefix that answers from a knowledge base: `kb:handbook`. */
export const knowledgeModelPrefix = "kb:";

export interface KnowledgeChatRequest extends ParsedChatRequest {
  /** Present when the answer is grounded: the response carries these fields. */
  sources?: SourcesFields;
}

export async function applyKnowledgeToChat(
  context: AppContext,
  parsed: ParsedChatRequest,
  signal: CancelSignal,
): Promise<KnowledgeChatRequest> {
  const alias = parsed.modelName.startsWith(knowledgeModelPrefix)
    ? parsed.modelName.slice(knowledgeModelPrefix.length)
    : undefined;
  if (alias === undefined && !parsed.knowledge) return parsed;
  const service = context.knowledge;
  if (!service)
    throw invalidParameter(
      alias === undefined ? "knowledge" : "model",
      "This server has no knowledge bases.",
    );
  if (alias === "") throw invalidParameter("model", `Name a knowledge base after "${knowledgeModelPrefix}".`);
  const bases = [...new Set([...(alias === undefined ? [] : [alias]), ...(parsed.knowledge?.bases ?? [])])];
  const modelName =
    alias === undefined
      ? parsed.modelName
      : await chooseChatModel(
          service.store.getKnowledgeBase(alias),
          context.models,
          service.defaultChatModel,
          async (ref) =>
            (await context.provenance.getPolicyResult(await context.models.resolve(ref))).servable,
        );
  const grounded = await service.groundChat(parsed.request.messages, {
    bases,
    ...(parsed.knowledge?.topK !== undefined ? { topK: parsed.knowledge.topK } : {}),
    signal: toAbortSignal(signal),
  });
  return {
    ...parsed,
    modelName,
    request: { ...parsed.request, messages: grounded.messages },
    sources: toSourcesFields(grounded),
  };
}

/** `GET /v1/models` entries for the `kb:<name>` aliases, so that OpenAI clients can pick them. */
export function listKnowledgeModels(context: AppContext) {
  return (context.knowledge?.store.listKnowledgeBases() ?? []).map((knowledgeBase) => ({
    id: `${knowledgeModelPrefix}${knowledgeBase.name}`,
    object: "model" as const,
    created: Math.floor(Date.parse(knowledgeBase.createdAt) / 1000),
    owned_by: "knowledge",
    knowledge_base: knowledgeBase.name,
    chat_model: knowledgeBase.chatModel,
  }));
}
