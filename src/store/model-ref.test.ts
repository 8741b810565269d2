// Unit tests for model-ref.ts and the catalog: name, digest and pull-reference parsing.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isOstromError } from "../errors.ts";
import { defaultModelName, findCatalogEntry, modelCatalog } from "./catalog.ts";
import {
  deriveModelName,
  getDigestHex,
  parseModelDigest,
  parseModelName,
  parsePullReference,
} from "./model-ref.ts";

function assertInvalid(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(
      isOstromError(error, "invalid_model_reference"),
      `expected invalid_model_reference, got ${error}`,
    );
    assert.match(error.message, pattern);
    return true;
  });
}

describe("parseModelName", () => {
  test("defaults the tag to latest", () => {
    assert.deepEqual(parseModelName("stories260k"), {
      name: "stories260k",
      tag: "latest",
      ref: "stories260k:latest",
    });
  });

  test("accepts a namespace and a tag", () => {
    assert.deepEqual(parseModelName("team/my-model.v2:Q8_0"), {
      name: "team/my-model.v2",
      tag: "Q8_0",
      ref: "team/my-model.v2:Q8_0",
    });
  });

  test("rejects uppercase names and suggests the lowercase form", () => {
    assertInvalid(() => parseModelName("SmolLM2"), /lowercase.*"smollm2"/);
  });

  test("names the problem in each bad reference", () => {
    assertInvalid(() => parseModelName(""), /empty/);
    assertInvalid(() => parseModelName("model:"), /empty tag/);
    assertInvalid(() => parseModelName("a/b/c"), /at most one "namespace\/"/);
    assertInvalid(() => parseModelName("-model"), /start with a letter or digit/);
    assertInvalid(() => parseModelName("/model"), /empty part/);
    assertInvalid(() => parseModelName("my model"), /whitespace/);
    assertInvalid(() => parseModelName("model:bad/tag"), /Tag "bad\/tag" is not valid/);
    assertInvalid(() => parseModelName("../etc"), /not valid/);
    assertInvalid(() => parseModelName(`m:${"t".repeat(129)}`), /longer than 128/);
  });
});

describe("parseModelDigest", () => {
  const hex = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";

  test("accepts sha256:<hex> and bare hex, lowercased", () => {
    assert.equal(parseModelDigest(`sha256:${hex}`), `sha256:${hex}`);
    assert.equal(parseModelDigest(hex.toUpperCase()), `sha256:${hex}`);
    assert.equal(getDigestHex(parseModelDigest(hex)), hex);
  });

  test("rejects anything else", () => {
    assertInvalid(() => parseModelDigest("sha256:abc"), /64 hex/);
    assertInvalid(() => parseModelDigest(`md5:${hex}`), /64 hex/);
  });
});

describe("parsePullReference", () => {
  test("plain URL to a .gguf file", () => {
    const reference = parsePullReference("https://example.com/files/My%20Model-Q8_0.gguf?x=1");
    assert.equal(reference.kind, "url");
    assert.equal(reference.url, "https://example.com/files/My%20Model-Q8_0.gguf?x=1");
    assert.equal(reference.fileName, "My Model-Q8_0.gguf");
    assert.equal(reference.defaultName.ref, "my-model-q8_0:latest");
  });

  test("URLs must point to a .gguf file and carry no credentials", () => {
    assertInvalid(() => parsePullReference("https://example.com/model.bin"), /\.gguf/);
    assertInvalid(() => parsePullReference("https://user:pw@example.com/m.gguf"), /password/);
    assertInvalid(() => parsePullReference("ftp://example.com/m.gguf"), /only http/);
  });

  test("Hugging Face references in every spelling resolve to the same URL", () => {
    const expected = "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf";
    for (const text of [
      "hf://ggml-org/models/tinyllamas/stories260K.gguf",
      "ggml-org/models/tinyllamas/stories260K.gguf",
      "hf.co/ggml-org/models/tinyllamas/stories260K.gguf",
      "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf",
      "https://huggingface.co/ggml-org/models/blob/main/tinyllamas/stories260K.gguf",
    ]) {
      const reference = parsePullReference(text);
      assert.equal(reference.kind, "huggingface", text);
      assert.equal(reference.url, expected, text);
      assert.equal(reference.fileName, "stories260K.gguf");
      assert.equal(reference.defaultName.ref, "stories260k:latest");
      if (reference.kind === "huggingface") {
        assert.deepEqual(
          [reference.owner, reference.repo, reference.path, reference.revision],
          ["ggml-org", "models", "tinyllamas/stories260K.gguf", "main"],
        );
      }
    }
  });

  test("Hugging Face revision", () => {
    const reference = parsePullReference(
      "bartowski/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct-Q8_0.gguf@abc123",
    );
    assert.equal(
      reference.url,
      "https://huggingface.co/bartowski/SmolLM2-135M-Instruct-GGUF/resolve/abc123/SmolLM2-135M-Instruct-Q8_0.gguf",
    );
    assert.equal(reference.defaultName.ref, "smollm2-135m-instruct-q8_0:latest");
  });

  test("incomplete or unsafe Hugging Face references are rejected", () => {
    assertInvalid(() => parsePullReference("owner/repo"), /complete Hugging Face reference/);
    assertInvalid(() => parsePullReference("owner/repo/readme.md"), /\.gguf/);
    assertInvalid(() => parsePullReference("owner/repo/../x.gguf"), /not valid/);
    assertInvalid(() => parsePullReference("owner/repo/x.gguf@bad rev"), /revision|whitespace|not valid/);
  });

  test("catalog names", () => {
    const reference = parsePullReference("stories260k");
    assert.equal(reference.kind, "catalog");
    assert.equal(
      reference.url,
      "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf",
    );
    assert.equal(reference.fileName, "stories260K.gguf");
    assert.equal(reference.defaultName.ref, "stories260k:latest");
    assert.equal(parsePullReference(defaultModelName).kind, "catalog");
  });

  test("an unknown bare name lists the catalog", () => {
    assertInvalid(
      () => parsePullReference("nonexistent"),
      /not in the built-in catalog \(smollm2-135m-instruct, stories260k\)/,
    );
  });
});

describe("catalog", () => {
  test("every entry parses, has a license and a valid hash or none", () => {
    for (const entry of modelCatalog) {
      assert.equal(parseModelName(`${entry.name}:${entry.tag}`).ref, `${entry.name}:${entry.tag}`);
      assert.match(entry.url, /^https:\/\/.+\.gguf$/);
      assert.ok(entry.license.length > 0);
      if (entry.sha256 !== undefined) assert.match(entry.sha256, /^[0-9a-f]{64}$/);
    }
    assert.ok(findCatalogEntry(defaultModelName));
    assert.equal(findCatalogEntry("stories260k")?.size, 1_185_376);
  });
});

test("deriveModelName always yields a valid name", () => {
  for (const fileName of ["Weird  Name!!.GGUF", "...gguf", "___.gguf", "Ünïcode-model.gguf"]) {
    const derived = deriveModelName(fileName);
    assert.equal(parseModelName(derived.ref).ref, derived.ref, fileName);
  }
  assert.equal(deriveModelName("Weird  Name!!.GGUF").name, "weird-name");
});
