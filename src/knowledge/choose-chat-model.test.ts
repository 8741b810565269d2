import assert from "node:assert/strict";
import { test } from "node:test";
import { OstromError } from "../errors.ts";
import { chooseChatModel } from "./choose-chat-model.ts";

const catalog = (refs: string[]) => ({
  list: async () => refs.map((ref) => ({ ref })),
  resolve: async (ref: string) => {
    if (!refs.includes(ref)) throw new OstromError("model_not_found", `no ${ref}`);
    return { ref };
  },
});

test("the knowledge base's own model, else the default, else the first model the policy allows", async () => {
  const kb = { name: "docs", chatModel: null };
  assert.equal(
    await chooseChatModel({ name: "docs", chatModel: "mine:latest" }, catalog(["a:latest"]), "b"),
    "mine:latest",
  );
  assert.equal(await chooseChatModel(kb, catalog(["a:latest", "b:latest"]), "b:latest"), "b:latest");
  const refused = new Set(["closed:latest"]);
  assert.equal(
    await chooseChatModel(
      kb,
      catalog(["closed:latest", "open:latest"]),
      "absent",
      async (ref) => !refused.has(ref),
    ),
    "open:latest",
  );
  await assert.rejects(
    chooseChatModel(kb, catalog(["closed:latest"]), "absent", async (ref) => !refused.has(ref)),
    /serving policy allows/,
  );
});
