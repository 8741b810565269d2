// `ostrom bom MODEL|FILE.gguf`: the model's AI bill of materials, CycloneDX 1.6 JSON on stdout, built
// from its GGUF header, Ostrom's provenance catalog and the openness assessment.
import { stat } from "node:fs/promises";
import { loadProvenanceCatalog } from "../../provenance/catalog.ts";
import { createCycloneDxBom } from "../../provenance/cyclonedx-bom.ts";
import { describeModelProvenance } from "../../provenance/describe-model-provenance.ts";
import { openStore } from "../../runtime/open-store.ts";
import type { Command } from "../command.ts";

export const bomCommand: Command = {
  name: "bom",
  usage: "ostrom bom MODEL|FILE.gguf",
  summary: "Print a model's AI bill of materials (CycloneDX 1.6 JSON): hash, licenses, lineage, datasets.",
  flags: {},
  positionals: [1, 1],
  async run({ config, positionals, stdout }) {
    const target = positionals[0]!;
    const isFile = target.endsWith(".gguf") && (await stat(target).catch(() => undefined))?.isFile();
    const entry = isFile ? undefined : await (await openStore(config)).resolve(target);
    const { record, assessment } = await describeModelProvenance({
      path: entry?.path ?? target,
      ...(entry === undefined ? {} : { digest: entry.digest, names: [entry.name] }),
      catalog: await loadProvenanceCatalog(),
    });
    stdout.write(`${JSON.stringify(createCycloneDxBom(record, { assessment }), null, 2)}\n`);
    return 0;
  },
};
