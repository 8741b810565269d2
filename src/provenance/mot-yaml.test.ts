import assert from "node:assert/strict";
import { test } from "node:test";
import { isOstromError } from "../errors.ts";
import { formatMotYaml, parseMotYaml } from "./mot-yaml.ts";

const sample = `framework:
  name: 'Model Openness Framework'
  version: '1.0'
  date: '2024-12-15'
release:
  name: Example-1B
  version: 1B
  date: '2025-05-10'
  type: language
  architecture: 'transformer decoder'
  origin: Example-1B-Base
  producer: Example Lab
  contact: ''
  repository: 'https://example.org/repo'
  huggingface: 'https://huggingface.co/example/Example-1B'
  license:
    distribution:
      name: Apache-2.0
      path: 'https://example.org/LICENSE'
    data:
      name: CDLA-Permissive-2.0
      path: ''
  components:
    -
      name: 'Model architecture'
      description: "Well commented code for the model's architecture"
    -
      name: 'Research paper'
      description: 'Research paper detailing the development and capabilities of the model'
      component_path: 'https://arxiv.org/abs/0000.00000'
      license: CC-BY-4.0
      license_path: 'https://creativecommons.org/licenses/by/4.0/'
      x-note: kept as is
  future_field: [1, 2]
x-ostrom:
  checked: '2026-11-24'
  aliases: [example/Example-1B]
  base_models: [{name: example/Example-1B-Base, url: 'https://huggingface.co/example/Example-1B-Base', relation: fine-tune}]
  datasets: [{name: corpus, url: 'https://example.org/corpus', license: odc-by}]
  unknown: [Datasets]
  sources: {release.license.distribution: 'https://example.org/LICENSE'}
`;

test("reads the MOT format, including Ostrom's extension and unknown keys", () => {
  const record = parseMotYaml(sample);
  assert.equal(record.release.name, "Example-1B");
  assert.deepEqual(record.release.license.distribution, {
    name: "Apache-2.0",
    path: "https://example.org/LICENSE",
  });
  assert.equal(record.release.components.length, 2);
  assert.equal(record.release.components[1]?.license, "CC-BY-4.0");
  assert.deepEqual(record.release.components[1]?.extra, { "x-note": "kept as is" });
  assert.deepEqual(record.release.extra, { future_field: [1, 2] });
  assert.equal(record.ostrom?.base_models?.[0]?.relation, "fine-tune");
  assert.deepEqual(record.ostrom?.unknown, ["Datasets"]);
});

test("round trip: write then read gives the same record, and writing again the same text", () => {
  const record = parseMotYaml(sample);
  const written = formatMotYaml(record, "Example entry.\nSecond line.");
  assert.match(written, /^# Example entry\.\n# Second line\.\nframework:/);
  const reread = parseMotYaml(written);
  assert.deepEqual(reread, record);
  assert.equal(formatMotYaml(reread, "Example entry.\nSecond line."), written);
});

test("accepts records written by the MOT tool with an empty license block and numeric versions", () => {
  const record =
    parseMotYaml(`framework: {name: 'Model Openness Framework', version: '1.0', date: '2024-12-15'}
release: {name: X, version: 7, date: '2025-01-20', license: {}, type: language, architecture: '', origin: '', producer: P, contact: '', components: []}
`);
  assert.equal(record.release.version, "7");
  assert.deepEqual(record.release.license, {});
});

test("malformed records fail with the path of the bad field", () => {
  const cases: Array<[string, string, RegExp]> = [
    ["framework: [\n", "", /not valid YAML/],
    ["release: {name: X}\n", "framework", /framework is missing/],
    [sample.replace("name: Example-1B\n", "name: ''\n"), "release.name", /must not be empty/],
    [
      sample.replace("'Model architecture'", "'Model weights'"),
      "release.components[0].name",
      /not an MOF component/,
    ],
    [sample.replace("    data:\n", "    weights:\n"), "release.license.weights", /unknown license slot/],
    [
      sample.replace("      license: CC-BY-4.0\n", "      license: [CC-BY-4.0]\n"),
      "release.components[1].license",
      /must be a string/,
    ],
    [
      sample.replace("relation: fine-tune", "relation: cousin"),
      "x-ostrom.base_models[0].relation",
      /must be one of/,
    ],
    [sample.replace("checked: '2026-11-24'", "checked: yesterday"), "x-ostrom.checked", /YYYY-MM-DD/],
    [
      sample.replace("'Research paper'", "'Model architecture'"),
      "release.components[1].name",
      /listed twice/,
    ],
  ];
  for (const [text, param, message] of cases) {
    assert.throws(
      () => parseMotYaml(text, "bad.yml"),
      (error: unknown) =>
        isOstromError(error, "invalid_provenance_record") &&
        error.param === param &&
        message.test(error.message) &&
        error.message.startsWith("bad.yml: "),
      param,
    );
  }
});
