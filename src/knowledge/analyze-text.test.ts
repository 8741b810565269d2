import assert from "node:assert/strict";
import { test } from "node:test";
import { analyzeForIndex, analyzeQuery, buildMatchExpression, defaultTextAnalysis } from "./analyze-text.ts";
import { stemPorter } from "./stem-porter.ts";

test("the Porter stemmer gives the reference stems", () => {
  const pairs: [string, string][] = [
    ["caresses", "caress"],
    ["ponies", "poni"],
    ["agreed", "agre"],
    ["plastered", "plaster"],
    ["motoring", "motor"],
    ["hopping", "hop"],
    ["filing", "file"],
    ["happy", "happi"],
    ["relational", "relat"],
    ["conditional", "condit"],
    ["generalizations", "gener"],
    ["oscillators", "oscil"],
    ["effective", "effect"],
    ["adjustment", "adjust"],
    ["controll", "control"],
    ["arguing", "argu"],
    ["argued", "argu"],
    ["is", "is"],
    ["café", "café"],
    ["x86", "x86"],
  ];
  for (const [word, stem] of pairs) assert.equal(stemPorter(word), stem, word);
});

test("analysis lower-cases, strips diacritics, drops stopwords and stems", () => {
  assert.equal(analyzeForIndex("The Cafés were ARGUING about it!", defaultTextAnalysis), "cafe argu");
  assert.equal(
    analyzeForIndex("The cafés", { ...defaultTextAnalysis, indexStopwords: false, stemmer: "none" }),
    "the cafes",
  );
  assert.deepEqual(Array.from(analyzeQuery("Argue, argued, ARGUING: the argument", defaultTextAnalysis)), [
    ["argu", 3],
    ["argument", 1],
  ]);
});

test("match expressions repeat frequent terms up to a cap, skip unknown terms and keep selective ones", () => {
  const terms = new Map([
    ["tide", 3],
    ["moon", 1],
    ["unknown", 2],
    ["common", 1],
  ]);
  const frequencies = new Map([
    ["tide", 5],
    ["moon", 2],
    ["common", 90],
  ]);
  const settings = { ...defaultTextAnalysis, queryTermRepeats: 2, maxTermChunkFraction: 1 };
  assert.equal(
    buildMatchExpression(terms, frequencies, 100, settings),
    '"tide" OR "tide" OR "moon" OR "common"',
  );
  assert.equal(
    buildMatchExpression(terms, frequencies, 100, { ...settings, maxTermChunkFraction: 0.5 }),
    '"tide" OR "tide" OR "moon"',
  );
  assert.equal(
    buildMatchExpression(terms, frequencies, 100, { ...settings, maxQueryTerms: 1, queryTermRepeats: 1 }),
    '"moon"',
  );
  assert.equal(buildMatchExpression(new Map([["unknown", 1]]), frequencies, 100, settings), undefined);
});
