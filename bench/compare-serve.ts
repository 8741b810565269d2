// Compares `ostrom serve` from several source trees side by side, on one model, in one run
// (`npx tsx bench/compare-serve.ts --trees DIR_A,DIR_B --model FILE.gguf [--streams 1,4] [--rounds 3]
// [--tokens 128] [--threads 1]`): a change to the engine path is measured against the tree without it,
// both started together and measured alternately round by round (each round starting with the next
// tree), so background load on this shared machine hits both alike. A tree is a checkout (e.g.
// `git worktree add /tmp/base HEAD` with a node_modules link); each runs from its TypeScript sources. Prints a table of decode tok/s per tree
// and stream count (median of the rounds, all rounds beside it) and the ratio to the first tree.
// A benchmark reports; it asserts nothing. Benchmark tooling only: nothing in `src/` may import this file.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { runToCompletion } from "./bench-process.ts";
import { measureHttpStreams, type StartedServer, startServer } from "./measure-http-streams.ts";

const { values } = parseArgs({
  options: {
    trees: { type: "string" },
    model: { type: "string" },
    streams: { type: "string", default: "1,4" },
    rounds: { type: "string", default: "3" },
    tokens: { type: "string", default: "128" },
    threads: { type: "string", default: "1" },
  },
});
if (!values.trees || !values.model) throw new Error("--trees DIR_A,DIR_B and --model FILE.gguf are required");
const trees = values.trees.split(",").map((tree) => path.resolve(tree));
const streamCounts = values.streams.split(",").map(Number);
const rounds = Number(values.rounds);
const modelPath = path.resolve(values.model);

const servers: { tree: string; server: StartedServer; dataDir: string }[] = [];
try {
  for (const tree of trees) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "ostrom-compare-"));
    const cli = ["--import", "tsx", path.join(tree, "src/cli/ostrom.ts")];
    const imported = await runToCompletion(
      process.execPath,
      [...cli, "import", modelPath, "--name", "bench", "--data-dir", dataDir],
      { cwd: tree, timeoutMs: 120_000 },
    );
    if (imported.code !== 0) throw new Error(`import in ${tree} failed:\n${imported.output}`);
    const server = await startServer({
      command: process.execPath,
      args: (port) => [
        ...cli,
        "serve",
        ...["--port", String(port), "--data-dir", dataDir, "--threads", values.threads],
        ...["--max-output-tokens", values.tokens],
      ],
      // An environment variable, not a flag: trees from before `--engine-build` ignore it.
      env: { ...process.env, OSTROM_ENGINE_BUILD: "off", OSTROM_PULL_ON_START: "false" },
      cwd: tree,
      readyTimeoutMs: 60_000,
    });
    servers.push({ tree, server, dataDir });
  }

  const results = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const streams of streamCounts) {
      // Each round starts with the next tree, so no tree always runs right after another.
      const order = servers.map((_, index) => servers[(index + round) % servers.length]!);
      for (const { tree, server } of order) {
        const summary = await measureHttpStreams({
          baseUrl: server.baseUrl,
          model: "bench",
          prompt: "Once upon a time",
          maxTokens: Number(values.tokens),
          streams,
          timeoutMs: 300_000,
        });
        const key = `${tree}|${streams}`;
        results.set(key, [...(results.get(key) ?? []), summary.decodeTokensPerSecond ?? 0]);
        process.stderr.write(
          `round ${round + 1}: ${tree}, ${streams} stream(s): ${summary.decodeTokensPerSecond?.toFixed(0)} tok/s\n`,
        );
      }
    }
  }

  console.log(
    `model ${path.basename(modelPath)}, ${values.tokens} tokens, ${values.threads} thread(s), ${rounds} rounds`,
  );
  console.log("| tree | streams | decode tok/s (median) | rounds | ratio to first tree |");
  console.log("|---|---:|---:|---|---:|");
  for (const streams of streamCounts) {
    const baseline = median(results.get(`${trees[0]}|${streams}`) ?? []);
    for (const tree of trees) {
      const values = results.get(`${tree}|${streams}`) ?? [];
      console.log(
        `| ${tree} | ${streams} | ${median(values).toFixed(0)} | ${values.map((value) => value.toFixed(0)).join(", ")} | ${(median(values) / baseline).toFixed(2)} |`,
      );
    }
  }
} finally {
  for (const { server, dataDir } of servers) {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}
