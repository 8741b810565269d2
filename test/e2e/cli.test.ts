// End to end: the `ostrom` command as a user runs it, in child processes over a temporary data
// directory: import (good and hostile files), ls, inspect, run, rm, and serve with a SIGTERM drain.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { copyFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { UsageSummaryRow } from "../../src/tenancy/usage-log.ts";
import { createTempDir, findStories260K, getTinyModelPath } from "../helpers/test-models.ts";

const cliEntry = fileURLToPath(new URL("../../src/cli/ostrom.ts", import.meta.url));

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function startCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", cliEntry, ...args], {
    env: {
      ...process.env,
      OSTROM_THREADS: "1",
      OSTROM_PULL_ON_START: "false",
      OSTROM_ENGINE_BUILD: "off",
      ...env,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = startCli(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin!.end();
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

let dataDir: string;
let tinyFile: string;

before(async () => {
  dataDir = await createTempDir("ostrom-cli-");
  tinyFile = await getTinyModelPath();
});

describe("model store commands", () => {
  test("import, ls, inspect --json and rm", async () => {
    const imported = await runCli(["import", tinyFile, "--name", "tiny:v1", "--data-dir", dataDir]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /imported tiny:v1 sha256:[0-9a-f]{64}/);

    const listed = await runCli(["ls", "--json"], { OSTROM_HOME: dataDir });
    const models = JSON.parse(listed.stdout) as Array<{ ref: string; size: number }>;
    assert.deepEqual(
      models.map((model) => model.ref),
      ["tiny:v1"],
    );

    const inspected = await runCli(["inspect", "tiny:v1", "--json", "--data-dir", dataDir]);
    assert.equal(inspected.code, 0, inspected.stderr);
    const report = JSON.parse(inspected.stdout) as Record<string, unknown>;
    assert.equal(report.architecture, "llama");
    assert.equal(report.contextLength, 2048);
    assert.equal(report.quantization, "F32");
    assert.equal(typeof report.parameterCount, "number");
    assert.match(String(report.chatTemplate), /im_start/);

    const text = await runCli(["inspect", "tiny:v1", "--data-dir", dataDir]);
    assert.match(text.stdout, /architecture\s+llama/);

    const removed = await runCli(["rm", "tiny:v1", "--data-dir", dataDir]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /removed tiny:v1 \(file deleted\)/);
    const empty = await runCli(["ls", "--data-dir", dataDir]);
    assert.match(empty.stdout, /No models/);
  });

  test("hostile files are refused with a clear error and leave nothing behind", async () => {
    const dir = await createTempDir("ostrom-hostile-");
    const valid = await import("node:fs/promises").then((fs) => fs.readFile(tinyFile));
    const cases: Array<[string, Buffer, RegExp]> = [
      ["wrong-magic.gguf", Buffer.concat([Buffer.from("PK\x03\x04"), valid.subarray(4)]), /not a GGUF file/],
      ["truncated.gguf", valid.subarray(0, 1000), /truncated|ends/],
      [
        "absurd-count.gguf",
        Buffer.concat([
          valid.subarray(0, 8),
          Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
          valid.subarray(16),
        ]),
        /tensor/i,
      ],
      ["empty.gguf", Buffer.alloc(0), /not a GGUF|truncated|empty/i],
    ];
    for (const [name, bytes, message] of cases) {
      const file = path.join(dir, name);
      await writeFile(file, bytes);
      const result = await runCli(["import", file, "--name", "bad", "--data-dir", dataDir]);
      assert.equal(result.code, 1, name);
      assert.match(result.stderr, message, name);
      assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/, "no stack trace for a user error");
    }
    const listed = await runCli(["ls", "--json", "--data-dir", dataDir]);
    assert.deepEqual(JSON.parse(listed.stdout), []);
  });

  test("usage errors exit 2 with the usage line; unknown models exit 1 with a hint", async () => {
    const noArgs = await runCli(["import"]);
    assert.equal(noArgs.code, 2);
    assert.match(noArgs.stderr, /Usage: ostrom import FILE/);
    const badFlag = await runCli(["ls", "--bogus"]);
    assert.equal(badFlag.code, 2);
    const missing = await runCli(["run", "ghost", "hi", "--data-dir", dataDir]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ghost/);
    const help = await runCli(["serve", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--port N\s+\(env OSTROM_PORT, default 11435\)/);
    assert.match(help.stdout, /--data-dir VALUE\s+\(env OSTROM_HOME/);
  });
});

describe("pull", () => {
  test("pulls from an HTTP server with progress and sha256 check, and refuses a wrong hash", async () => {
    const { createServer } = await import("node:http");
    const { readFile } = await import("node:fs/promises");
    const { createHash } = await import("node:crypto");
    const bytes = await readFile(tinyFile);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const http = createServer((request, response) => {
      if (request.url !== "/models/tiny-llama.gguf") {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { "content-length": bytes.length, etag: '"v1"' }).end(bytes);
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const port = (http.address() as { port: number }).port;
    try {
      const url = `http://127.0.0.1:${port}/models/tiny-llama.gguf`;
      const wrong = await runCli([
        "pull",
        url,
        "--name",
        "pulled",
        "--sha256",
        "0".repeat(64),
        "--data-dir",
        dataDir,
      ]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /sha256/i);
      const listed = await runCli(["ls", "--json", "--data-dir", dataDir]);
      assert.ok(
        !(JSON.parse(listed.stdout) as Array<{ ref: string }>).some((model) => model.ref === "pulled:latest"),
      );

      const pulled = await runCli([
        "pull",
        url,
        "--name",
        "pulled",
        "--sha256",
        sha256,
        "--data-dir",
        dataDir,
      ]);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.match(pulled.stdout, new RegExp(`pulled pulled:latest sha256:${sha256}`));
      assert.match(pulled.stderr, /pulling .*100%/);
      const missing = await runCli(["pull", `http://127.0.0.1:${port}/nothing.gguf`, "--data-dir", dataDir]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /404/);
    } finally {
      http.close();
    }
  });
});

describe("generation from the command line", () => {
  test("ostrom run streams an answer from the tiny model", async () => {
    await runCli(["import", tinyFile, "--name", "tiny", "--data-dir", dataDir]);
    const result = await runCli([
      "run",
      "tiny",
      "Hello",
      "--max-tokens",
      "5",
      "--temperature",
      "0",
      "--verbose",
      "--data-dir",
      dataDir,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /\d+ prompt \+ [5-8] completion tokens; .* finish: length/);
    assert.ok(result.stdout.length > 0);
  });

  test("ostrom chat keeps a conversation over stdin until /bye", async () => {
    const child = startCli([
      "chat",
      "tiny",
      "--max-tokens",
      "3",
      "--temperature",
      "0",
      "--data-dir",
      dataDir,
    ]);
    let stdout = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stdin!.end("hello\nand again\n/bye\n");
    const code = await new Promise((resolve) => child.on("close", resolve));
    assert.equal(code, 0);
    assert.equal(
      stdout.split(">>> ").length - 1,
      3,
      `three prompts: two answered, then /bye; got ${JSON.stringify(stdout)}`,
    );
  });

  test("stories260K completes 'Once upon a time' in coherent English", async (t) => {
    const stories = findStories260K();
    if (!stories) {
      t.skip("../shared/models/stories260K.gguf is not present");
      return;
    }
    const copy = path.join(await createTempDir("ostrom-stories-"), "stories260K.gguf");
    await copyFile(stories, copy);
    await runCli(["import", copy, "--name", "stories", "--data-dir", dataDir]);
    const result = await runCli([
      "run",
      "stories",
      "Once upon a time",
      "--max-tokens",
      "40",
      "--temperature",
      "0",
      "--data-dir",
      dataDir,
    ]);
    assert.equal(result.code, 0, result.stderr);
    // The model's known greedy continuation (see ../shared/models/MODELS.md).
    assert.match(result.stdout, /there was a little girl named Lily/);
  });
});

describe("serve", () => {
  let server: ChildProcess | undefined;
  after(() => server?.kill("SIGKILL"));

  function waitForUrl(child: ChildProcess): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const match = /running at (http:\/\/\S+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.on("exit", (code) => reject(new Error(`serve exited early with ${code}`)));
    });
  }

  test("a server killed right after answering keeps every answered request's usage record", async () => {
    const ownDir = await createTempDir("ostrom-cli-kill-");
    await runCli(["import", tinyFile, "--name", "tiny", "--data-dir", ownDir]);
    server = startCli(["serve", "--port", "0", "--data-dir", ownDir, "--log-level", "warn"]);
    const url = await waitForUrl(server);
    const exited = new Promise((resolve) => server!.on("exit", resolve));
    const ask = () =>
      fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
      });
    const answers = await Promise.all([ask(), ask(), ask()]);
    for (const answer of answers) assert.equal(answer.status, 200);
    const tokens = (await Promise.all(answers.map((answer) => answer.json()))).map(
      (body) => (body as { usage: { total_tokens: number } }).usage.total_tokens,
    );
    // Killed at once: no flush, no shutdown; the records are only in the server's journal.
    server.kill("SIGKILL");
    await exited;
    const usage = await runCli(["usage", "--by", "model", "--json", "--data-dir", ownDir]);
    assert.equal(usage.code, 0, usage.stderr);
    const rows = JSON.parse(usage.stdout) as UsageSummaryRow[];
    assert.deepEqual(
      rows.map((row) => [row.group, row.requests, row.promptTokens + row.completionTokens]),
      [["tiny:latest", 3, tokens.reduce((sum, value) => sum + value, 0)]],
    );
  });

  test("SIGTERM lets an in-flight stream finish, then exits 0", async () => {
    await runCli(["import", tinyFile, "--name", "tiny", "--data-dir", dataDir]);
    server = startCli(["serve", "--port", "0", "--data-dir", dataDir, "--log-level", "warn"]);
    const url = await waitForUrl(server);
    const exited = new Promise<number | null>((resolve) => server!.on("exit", (code) => resolve(code)));

    const response = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        prompt: "x",
        max_tokens: 300,
        stream: true,
        response_format: {
          type: "json_schema",
          json_schema: { name: "n", schema: { type: "array", items: { type: "integer" }, minItems: 300 } },
        },
      }),
    });
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.ok(!first.done);
    server.kill("SIGTERM");
    let body = new TextDecoder().decode(first.value);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      body += new TextDecoder().decode(value);
    }
    assert.ok(body.endsWith("data: [DONE]\n\n"), "the stream ran to its end");
    assert.match(body, /"finish_reason":"length"/);
    assert.equal(await exited, 0);
    await assert.rejects(fetch(`${url}/health`), "the port is closed after exit");
  });
});
