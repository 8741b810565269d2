// `ostrom chat MODEL`: an interactive conversation in the terminal, streamed token by token.
// Ctrl-C stops the current answer; Ctrl-D or /bye leaves.
import readline from "node:readline/promises";
import type { ChatMessage } from "../../engine/engine.ts";
import { createEngine } from "../../runtime/create-engine.ts";
import type { Command } from "../command.ts";
import { createOpeningMessages, createPlainChatRequest, generationFlags } from "./generation-flags.ts";
import { printGeneration, quietUnlessVerbose, resolveModel } from "./run-command.ts";

export const chatCommand: Command = {
  name: "chat",
  usage: "ostrom chat MODEL [--system TEXT] [--temperature T]",
  summary: "Chat with a model interactively in the terminal.",
  flags: generationFlags,
  positionals: [1, 1],
  async run(input) {
    const model = await resolveModel(input, input.positionals[0]!);
    await using engine = createEngine({ ...input.config, parallel: 1 }, quietUnlessVerbose(input));
    const messages: ChatMessage[] = createOpeningMessages(input.flags);
    const terminal = readline.createInterface({
      input: process.stdin,
      output: process.stdout,
      terminal: process.stdin.isTTY,
    });
    input.stderr.write(`Chatting with ${model.ref}. Ctrl-C stops an answer; /bye or Ctrl-D leaves.\n`);
    let current: AbortController | undefined;
    terminal.on("SIGINT", () => {
      if (current) current.abort();
      else terminal.close();
    });
    try {
      terminal.setPrompt(">>> ");
      terminal.prompt();
      for await (const line of terminal) {
        if (line.trim() === "/bye") break;
        if (line.trim() !== "") {
          messages.push({ role: "user", content: line });
          current = new AbortController();
          const events = engine.chat(createPlainChatRequest(model, messages, input.flags), current.signal);
          const answer = await printGeneration(events, input);
          current = undefined;
          messages.push({ role: "assistant", content: answer });
        }
        terminal.prompt();
      }
    } finally {
      terminal.close();
    }
    return 0;
  },
};
