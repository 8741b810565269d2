// Entry point of a model runner process, forked by ModelRunner. Holds one model and serves the
// requests the parent multiplexes over IPC. If llama.cpp crashes here, only this process dies.
import { isOstromError } from "../../errors.ts";
import { LlamaRunner } from "./llama-runner.ts";
import type { ParentMessage, RunnerMessage, SerializedError } from "./runner-protocol.ts";

function send(message: RunnerMessage): void {
  process.send?.(message);
}

function serializeError(error: unknown): SerializedError {
  if (isOstromError(error)) return { code: error.code, message: error.message, param: error.param };
  process.stderr.write(
    `[runner ${process.pid}] unexpected error: ${(error as Error)?.stack ?? String(error)}\n`,
  );
  return { code: "internal_error", message: "The model runner failed unexpectedly; see the server log." };
}

let runner: LlamaRunner | undefined;
const inFlight = new Map<number, AbortController>();

async function serve(id: number, work: (signal: AbortSignal) => Promise<RunnerMessage>): Promise<void> {
  const controller = new AbortController();
  inFlight.set(id, controller);
  try {
    send(await work(controller.signal));
  } catch (error) {
    send({ type: "error", id, error: serializeError(error) });
  } finally {
    inFlight.delete(id);
  }
}

function requireRunner(): LlamaRunner {
  if (!runner) throw new Error("request before load");
  return runner;
}

process.on("message", (message: ParentMessage) => {
  switch (message.type) {
    case "load":
      LlamaRunner.load(message.options).then(
        (loaded) => {
          runner = loaded;
          send({ type: "ready", info: loaded.info });
        },
        (error: unknown) => send({ type: "load_failed", error: serializeError(error) }),
      );
      return;
    case "chat":
    case "complete":
      void serve(message.id, async (signal) => {
        const onText = (text: string) => send({ type: "text", id: message.id, text });
        const done =
          message.type === "chat"
            ? await requireRunner().chat(message.request, signal, onText)
            : await requireRunner().complete(message.request, signal, onText);
        return { ...done, id: message.id };
      });
      return;
    case "embed":
      void serve(message.id, async (signal) => {
        const result = await requireRunner().embed(message.inputs, signal);
        return { type: "embedded", id: message.id, ...result };
      });
      return;
    case "cancel":
      inFlight.get(message.id)?.abort();
      return;
    case "shutdown":
      for (const controller of inFlight.values()) controller.abort();
      void runner?.dispose().finally(() => process.exit(0));
      if (!runner) process.exit(0);
      return;
    default:
      message satisfies never;
  }
});

// The parent going away (even by SIGKILL) closes the channel: never outlive it.
process.on("disconnect", () => process.exit(0));
