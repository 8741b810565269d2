import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { TextDeltaTemplate } from "./text-delta-template.ts";

const head = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "m" };
const chatChunk = (content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ ...head, choices: [{ index: 0, delta: { content }, finish_reason: null, ...extra }] });

function learned(data: string): TextDeltaTemplate {
  const template = new TextDeltaTemplate();
  template.learn(data, JSON.parse(data));
  return template;
}

test("a token chunk like the learned one but for its text is read without parsing", () => {
  const template = learned(chatChunk("Hello"));
  assert.equal(template.match(chatChunk(" world")), " world");
  assert.equal(template.match(chatChunk("")), "");
  assert.equal(template.match(chatChunk("é🙂")), "é🙂");
});

test("completions' text chunks are learned too", () => {
  const chunk = (text: string) =>
    JSON.stringify({
      id: "cmpl-1",
      object: "text_completion",
      choices: [{ index: 0, text, finish_reason: null }],
    });
  assert.equal(learned(chunk("a")).match(chunk("bc")), "bc");
});

test("texts that JSON would escape, and chunks that differ elsewhere, are left to the parser", () => {
  const template = learned(chatChunk("Hello"));
  for (const text of ['say "hi"', "back\\slash", "line\nbreak", "tab\t"]) {
    assert.equal(template.match(chatChunk(text)), undefined, JSON.stringify(text));
  }
  assert.equal(template.match(chatChunk("x", { finish_reason: "stop" })), undefined);
  assert.equal(template.match(JSON.stringify({ ...head, id: "chatcmpl-2", choices: [] })), undefined);
  assert.equal(template.match('{"error":{"message":"boom"}}'), undefined);
  // The text's own escapes differ only inside the string, but a `\` always goes to the parser.
  assert.equal(template.match(chatChunk("\u00e9").replace("é", "\\u00e9")), undefined);
});

test("chunks that do more than carry text are not learned", () => {
  const notLearned = [
    chatChunk("x", { finish_reason: "stop" }),
    JSON.stringify({
      ...head,
      choices: [{ index: 0, delta: { content: "x" } }],
      usage: { prompt_tokens: 1 },
    }),
    JSON.stringify({
      ...head,
      choices: [
        { index: 0, delta: { content: "", tool_calls: [{ index: 0, function: { arguments: "{" } }] } },
      ],
    }),
    JSON.stringify({ ...head, choices: [{ index: 1, delta: { content: "x" } }] }),
    JSON.stringify({
      ...head,
      choices: [
        { index: 0, delta: { content: "x" } },
        { index: 1, delta: {} },
      ],
    }),
    // A backslash anywhere: the key found in the raw text might not be the key that was parsed.
    JSON.stringify({ ...head, id: 'a"b', choices: [{ index: 0, delta: { content: "x" } }] }),
    // Two keys named content: which one holds the text cannot be told from the raw text.
    JSON.stringify({ ...head, meta: { content: "x" }, choices: [{ index: 0, delta: { content: "x" } }] }),
  ];
  for (const data of notLearned) {
    assert.equal(learned(data).match(chatChunk("y")), undefined, data);
  }
});

test("a chunk that is not learned keeps the template learned before it", () => {
  const template = learned(chatChunk("a"));
  const finish = chatChunk("", { finish_reason: "stop" });
  template.learn(finish, JSON.parse(finish));
  assert.equal(template.match(chatChunk("b")), "b");
});

test("whatever the chunks, a match is exactly the text JSON.parse would give", () => {
  const frame = fc.record({
    id: fc.constantFrom("a", "b", 'q"uote'),
    extra: fc.constantFrom(null, "content", { content: "x" }, [1]),
    role: fc.constantFrom(undefined, "assistant"),
    finish: fc.constantFrom(null, undefined, "stop"),
    index: fc.constantFrom(0, 1, undefined),
  });
  // Each stream mixes two frames around its texts, so that consecutive chunks often share one.
  const stream = fc.tuple(
    fc.tuple(frame, frame),
    fc.array(fc.tuple(fc.nat(1), fc.string()), { minLength: 1, maxLength: 8 }),
  );
  let matches = 0;
  fc.assert(
    fc.property(stream, ([frames, chunks]) => {
      const template = new TextDeltaTemplate();
      for (const [which, content] of chunks) {
        const f = frames[which] ?? frames[0];
        const data = JSON.stringify({
          id: f.id,
          extra: f.extra,
          choices: [{ index: f.index, delta: { role: f.role, content }, finish_reason: f.finish }],
        });
        const parsed = JSON.parse(data) as {
          choices: { index?: number; delta: { content: string }; finish_reason?: string | null }[];
        };
        const match = template.match(data);
        if (match !== undefined) {
          matches += 1;
          const [choice] = parsed.choices;
          assert.equal(match, choice?.delta.content);
          // A chunk read without parsing must carry nothing but its text.
          assert.equal(choice?.index ?? 0, 0);
          assert.equal(choice?.finish_reason ?? null, null);
        }
        template.learn(data, parsed);
      }
    }),
    { numRuns: 2000 },
  );
  assert.ok(matches > 100, `only ${matches} chunks matched: the property tested little`);
});
