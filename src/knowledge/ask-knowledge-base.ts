// Asks a knowledge base a question: grounds it (sources under the license rule), picks the chat
// model (the one asked for, the knowledge base's, or the server's default) and starts the answer on
// the engine. Shared by `ostrom ask` and the MCP `ask` tool; the caller streams or collects the
// events. Depends on the engine interface only, never on an implementation or on HTTP.
import type { Engine, GenerationEvent, ModelHandle } from "../engine/engine.ts";
import { invalidParameter } from "../errors.ts";
import { type ChatModelCatalog, chooseChatModel } from "./choose-chat-model.ts";
import type { GroundedChat } from "./ground-chat.ts";
import type { KnowledgeService } from "./knowledge-service.ts";

export interface KnowledgeAnswerer {
  knowledge: KnowledgeService;
  engine: Pick<Engine, "chat">;
  catalog: ChatModelCatalog;
  /** Resolves a model reference to a servable model (policy checks included). */
  resolveModel: (ref: string) => Promise<ModelHandle>;
}

export interface AskOptions {
  /** Model to answer with instead of the knowledge base's. */
  model?: string;
  topK?: number;
  /** Tokens to generate at most. Default: the engine's bound. */
  maxTokens?: number;
  /** Default 0.2: answers from sources should stay close to them. */
  temperature?: number;
  signal: AbortSignal;
}

export interface KnowledgeAnswer {
  model: ModelHandle;
  grounded: GroundedChat;
  events: AsyncIterable<GenerationEvent>;
}

/** Most characters of a question. */
const maxQuestionLength = 8192;

export async function askKnowledgeBase(
  answerer: KnowledgeAnswerer,
  base: string,
  question: string,
  options: AskOptions,
): Promise<KnowledgeAnswer> {
  if (question.trim() === "") throw invalidParameter("question", "The question is empty.");
  if (question.length > maxQuestionLength)
    throw invalidParameter("question", `The question is longer than ${maxQuestionLength} characters.`);
  const knowledgeBase = answerer.knowledge.store.getKnowledgeBase(base);
  const grounded = await answerer.knowledge.groundChat([{ role: "user", content: question }], {
    bases: [base],
    ...(options.topK !== undefined ? { topK: options.topK } : {}),
    signal: options.signal,
  });
  const model = await answerer.resolveModel(
    options.model ??
      (await chooseChatModel(knowledgeBase, answerer.catalog, answerer.knowledge.defaultChatModel)),
  );
  const events = answerer.engine.chat(
    {
      model,
      messages: grounded.messages,
      sampling: {
        temperature: options.temperature ?? 0.2,
        ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
      },
      responseFormat: { type: "text" },
      tools: [],
      toolChoice: { type: "none" },
    },
    options.signal,
  );
  return { model, grounded, events };
}
