// Writes a random-weight llama GGUF for tests, demos and benchmarks:
//   tsx scripts/create-test-model.ts OUT.gguf [--shape tiny|smollm2-135m] [--type F32|F16|Q8_0] [--seed N]
import { parseArgs } from "node:util";
import {
  createRandomLlamaGguf,
  type RandomLlamaShape,
  smolLM2_135MShape,
  tinyLlamaShape,
} from "../src/gguf/create-random-llama.ts";

const shapes: Record<string, RandomLlamaShape> = { tiny: tinyLlamaShape, "smollm2-135m": smolLM2_135MShape };
const types = ["F32", "F16", "Q8_0"] as const;
const usage =
  "usage: tsx scripts/create-test-model.ts OUT.gguf [--shape tiny|smollm2-135m] [--type F32|F16|Q8_0] [--seed N]\n" +
  "  --shape  model shape (default tiny: ~0.5 MB; smollm2-135m: ~145 MB, Q8_0)\n" +
  "  --type   weight storage type (default: the shape's)\n" +
  "  --seed   PRNG seed (default 1); the same arguments always give the same file";

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        shape: { type: "string", default: "tiny" },
        type: { type: "string" },
        seed: { type: "string", default: "1" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
})();

if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const [out, ...extra] = positionals;
if (out === undefined || extra.length > 0) {
  fail("expected exactly one output path");
}
const shape = shapes[values.shape];
if (shape === undefined) {
  fail(`unknown shape '${values.shape}'`);
}
const tensorType = values.type ?? shape.tensorType;
if (!(types as readonly string[]).includes(tensorType)) {
  fail(`unknown type '${tensorType}'`);
}
const seed = Number(values.seed);
if (!Number.isSafeInteger(seed)) {
  fail(`--seed must be an integer, not '${values.seed}'`);
}

const started = performance.now();
const { fileSize, parameterCount } = await createRandomLlamaGguf(out, {
  ...shape,
  tensorType: tensorType as (typeof types)[number],
  seed,
});
const seconds = ((performance.now() - started) / 1000).toFixed(2);
process.stdout.write(
  `wrote ${out}: ${values.shape}, ${tensorType}, ${parameterCount.toLocaleString("en")} parameters, ` +
    `${fileSize.toLocaleString("en")} bytes in ${seconds} s\n`,
);
