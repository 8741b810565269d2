import assert from "node:assert/strict";
import { test } from "node:test";
import { createStringSlotTemplate, SerializedJson, stringifyJson } from "./serialized-json.ts";

const oddTexts = [
  "",
  "plain",
  'quotes " and \\ backslashes \\"',
  "new\nlines\r\nand\ttabs",
  "control \u0000 \u0001 \u001f \u007f characters",
  "unicode: é 中文 🙂 \u2028 \u2029",
  "lone surrogates \ud800 \udfff",
  "</script><!-- html -->",
  "\u0000ostrom-slot\u0000",
];

test("a template's JSON equals JSON.stringify of the object form, for odd text", () => {
  const build = (text: string) => ({
    id: "x",
    model: 'm "q" \u0000ostrom-slot\u0000',
    choices: [{ text, n: null }],
  });
  const make = createStringSlotTemplate(build);
  for (const text of oddTexts) {
    const serialized = make(text);
    assert.equal(serialized.json, JSON.stringify(build(text)), JSON.stringify(text));
    assert.deepEqual(JSON.parse(serialized.json), build(text));
  }
});

test("stringifyJson writes a SerializedJson as it is, anything else as JSON.stringify does", () => {
  assert.equal(stringifyJson(new SerializedJson('{"a":1}')), '{"a":1}');
  assert.equal(stringifyJson({ a: [1, "b"] }), '{"a":[1,"b"]}');
  // Nested inside an object, it stands for its value.
  assert.equal(JSON.stringify({ inner: new SerializedJson('{"a":1}') }), '{"inner":{"a":1}}');
});

test("a build that does not place the text is refused", () => {
  assert.throws(() => createStringSlotTemplate(() => ({ constant: true })), /did not place the text/);
});
