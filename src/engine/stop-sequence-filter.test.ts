import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { StopSequenceFilter } from "./stop-sequence-filter.ts";

function run(stops: string[], chunks: string[]): { text: string; stopped: boolean } {
  const filter = new StopSequenceFilter(stops);
  let text = "";
  for (const chunk of chunks) {
    text += filter.push(chunk);
    if (filter.stopped) break;
  }
  return { text: text + filter.flush(), stopped: filter.stopped };
}

test("stops at a sequence split across chunks", () => {
  assert.deepEqual(run(["a little"], ["there was a", " lit", "tle girl"]), {
    text: "there was ",
    stopped: true,
  });
});

test("holds back a possible start and releases it when it is not a stop", () => {
  const filter = new StopSequenceFilter(["END"]);
  assert.equal(filter.push("the EN"), "the ");
  assert.equal(filter.push("D"), "");
  assert.ok(filter.stopped);
  const other = new StopSequenceFilter(["END"]);
  assert.equal(other.push("the EN"), "the ");
  assert.equal(other.push("ough"), "ENough");
  assert.equal(other.flush(), "");
});

test("the stop that completes first wins, however the text is chunked", () => {
  assert.deepEqual(run(["c", "ab"], ["xxabc"]), { text: "xx", stopped: true });
  assert.deepEqual(run(["ca ", "a"], ["bcbca "]), { text: "bcbc", stopped: true });
  assert.deepEqual(run(["ca ", "a"], ["bcbca", " "]), { text: "bcbc", stopped: true });
});

test("property: output equals the text cut at the first stop, however it is chunked", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: fc.constantFrom("a", "b", "c", " "), maxLength: 40 }),
      fc.array(fc.string({ unit: fc.constantFrom("a", "b", "c", " "), minLength: 1, maxLength: 3 }), {
        minLength: 1,
        maxLength: 3,
      }),
      fc.array(fc.nat(40), { maxLength: 10 }),
      (text, stops, cuts) => {
        const points = [...new Set(cuts.map((cut) => Math.min(cut, text.length)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let start = 0;
        for (const point of [...points, text.length]) {
          chunks.push(text.slice(start, point));
          start = point;
        }
        // Oracle: scan the text position by position; cut at the start of the first stop that is complete.
        let expected: string | undefined;
        for (let end = 1; end <= text.length && expected === undefined; end++) {
          const complete = stops.filter((stop) => text.slice(0, end).endsWith(stop));
          if (complete.length > 0) {
            const longest = Math.max(...complete.map((stop) => stop.length));
            expected = text.slice(0, end - longest);
          }
        }
        const result = run(stops, chunks);
        assert.equal(result.text, expected ?? text);
        assert.equal(result.stopped, expected !== undefined);
      },
    ),
  );
});
