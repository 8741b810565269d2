// Which model answers questions grounded in a knowledge base: the one configured on it, else the
// server's default model, else — when the default is not in the store — the first model of the
// store the serving policy allows, so that `kb:<name>` works on any server that has a model. Knows
// only a minimal catalog.
import { isOstromError, OstromError } from "../errors.ts";
import type { KnowledgeBase } from "./knowledge-store.ts";

export interface ChatModelCatalog {
  list(): Promise<{ ref: string }[]>;
  /** Throws `model_not_found` when absent. */
  resolve(ref: string): Promise<{ ref: string }>;
}

/** The model reference to answer with; throws `model_not_found` when the store has no model at all. */
export async function chooseChatModel(
  knowledgeBase: Pick<KnowledgeBase, "name" | "chatModel">,
  catalog: ChatModelCatalog,
  defaultModel: string,
  /** Whether the policy lets a model be served; the fallback skips those it refuses. Default: all are. */
  isServable: (ref: string) => Promise<boolean> = async () => true,
): Promise<string> {
  if (knowledgeBase.chatModel) return knowledgeBase.chatModel;
  try {
    return (await catalog.resolve(defaultModel)).ref;
  } catch (error) {
    if (!isOstromError(error, "model_not_found")) throw error;
  }
  let first: { ref: string } | undefined;
  for (const entry of await catalog.list()) {
    if (!(await isServable(entry.ref))) continue;
    first = entry;
    break;
  }
  if (!first)
    throw new OstromError(
      "model_not_found",
      `No model can answer from knowledge base "${knowledgeBase.name}": it names no chat model and the store has no model the serving policy allows.`,
    );
  return first.ref;
}
