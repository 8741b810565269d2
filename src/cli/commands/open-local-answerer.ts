// What `ostrom ask` and `ostrom mcp` answer with when no server runs: the knowledge bases of the
// data directory and an in-process engine (as `ostrom run` uses), closed together when done.
import type { KnowledgeAnswerer } from "../../knowledge/ask-knowledge-base.ts";
import { createEngine } from "../../runtime/create-engine.ts";
import { openKnowledgeService } from "../../runtime/open-knowledge-service.ts";
import { openStore } from "../../runtime/open-store.ts";
import type { Logger } from "../../util/logger.ts";
import type { CommandInput } from "../command.ts";
import { resolveModel as resolveCheckedModel } from "./run-command.ts";

export interface LocalAnswerer extends KnowledgeAnswerer, AsyncDisposable {}

export async function openLocalAnswerer(
  input: CommandInput,
  log: Logger,
  keepAliveSeconds: number,
): Promise<LocalAnswerer> {
  const store = await openStore(input.config);
  const engine = createEngine({ ...input.config, keepAlive: keepAliveSeconds, parallel: 1 }, log);
  // Checked as the server checks it: serving policy and the file's sha256.
  const resolveModel = (ref: string) => resolveCheckedModel(input, ref);
  const knowledge = openKnowledgeService(input.config, { engine, resolveModel });
  return {
    knowledge,
    engine,
    catalog: store,
    resolveModel,
    async [Symbol.asyncDispose]() {
      await engine[Symbol.asyncDispose]();
      knowledge[Symbol.dispose]();
    },
  };
}
