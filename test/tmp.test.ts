import { test } from "node:test";
import { startTestServer } from "./helpers/start-test-server.ts";
import { getTinyModelPath } from "./helpers/test-models.ts";

test("x", async () => {
  const server = await startTestServer({ "tiny:latest": await getTinyModelPath() }, { threads: "1" });
  const schema = {
    type: "object",
    properties: {
      name: { type: "string", maxLength: 12 },
      age: { type: "integer" },
      tags: { type: "array", items: { type: "string", maxLength: 8 }, maxItems: 3 },
    },
    required: ["name", "age", "tags"],
  };
  let t = performance.now();
  const c = await server.client.chat.completions.create({
    model: "tiny",
    messages: [{ role: "user", content: "Describe a person as JSON." }],
    response_format: { type: "json_schema", json_schema: { name: "person", schema } },
    max_tokens: 300,
    temperature: 0.7,
    seed: 1,
  });
  console.log(JSON.stringify(c.choices[0]), c.usage, performance.now() - t);
  t = performance.now();
  const d = await server.client.completions.create({
    model: "tiny",
    prompt: "x",
    max_tokens: 200,
    temperature: 0.7,
    seed: 1,
  });
  console.log(d.usage, performance.now() - t);
  await server.shutdown();
});
