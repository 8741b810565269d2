import assert from "node:assert/strict";
import { test } from "node:test";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { tightenJsonNumberRules } from "./tighten-json-number-rules.ts";

test("integers lose their exponent and other numbers keep at most two exponent digits", async () => {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  try {
    const generated = await llama.createGrammarForJsonSchema({
      type: "object",
      properties: { age: { type: "integer" }, height: { type: "number" } },
    });
    const tightened = tightenJsonNumberRules(generated.grammar);
    assert.notEqual(
      tightened,
      generated.grammar,
      "the rules node-llama-cpp generates are the ones rewritten",
    );
    const integerRule = tightened.split("\n").find((line) => line.startsWith("integer-number-rule"));
    assert.equal(integerRule, String.raw`integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15})`);
    assert.match(tightened, /fractional-number-rule ::= .*\(\[eE\] \[-\+\]\? \[0-9\]\{1,2\}\)\?$/m);
    // The rewritten grammar still compiles in llama.cpp.
    await llama.createGrammar({ grammar: tightened });
  } finally {
    await llama.dispose();
  }
});
