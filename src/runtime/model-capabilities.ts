// What a stored model can do, read from its GGUF header once per digest: whether it has a chat
// template (chat models answer through it; base models complete text).
import type { ModelHandle } from "../engine/engine.ts";
import { readGgufInfo } from "../gguf/read-gguf.ts";
import { summarizeGguf } from "../gguf/summarize-gguf.ts";

const chatTemplateByDigest = new Map<string, Promise<boolean>>();

export function hasChatTemplate(model: ModelHandle): Promise<boolean> {
  let known = chatTemplateByDigest.get(model.digest);
  if (!known) {
    known = readGgufInfo(model.path).then((info) => summarizeGguf(info).chatTemplate !== null);
    known.catch(() => chatTemplateByDigest.delete(model.digest));
    chatTemplateByDigest.set(model.digest, known);
  }
  return known;
}
