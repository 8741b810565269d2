// `ostrom inspect MODEL`: what a GGUF says about itself: architecture, size, quantisation, context,
// license keys and chat template, then its openness card and where each provenance fact comes from
// (GGUF, catalog, the administrator's declaration, a verified signature) and the serving policy's
// verdict. MODEL is a store name or a path to a .gguf file.
import { stat } from "node:fs/promises";
import { readGgufInfo } from "../../gguf/read-gguf.ts";
import { summarizeGguf } from "../../gguf/summarize-gguf.ts";
import { loadProvenanceCatalog } from "../../provenance/catalog.ts";
import { describeModelProvenance } from "../../provenance/describe-model-provenance.ts";
import { formatProvenanceSources } from "../../provenance/format-provenance-sources.ts";
import type { PolicyResult } from "../../provenance/provenance-json.ts";
import { ModelProvenanceService } from "../../runtime/model-provenance-service.ts";
import { openStore } from "../../runtime/open-store.ts";
import type { Command } from "../command.ts";
import { formatBytes } from "../progress-bar.ts";
import { formatAssessment } from "./assess-command.ts";

export const inspectCommand: Command = {
  name: "inspect",
  usage: "ostrom inspect MODEL|FILE.gguf [--json]",
  summary:
    "Show a model's GGUF metadata and openness card: architecture, parameters, license, MOF class, OSAID.",
  flags: { json: { type: "boolean", description: "Print JSON for machines." } },
  positionals: [1, 1],
  async run({ config, flags, positionals, stdout, log }) {
    const target = positionals[0]!;
    const isFile = target.endsWith(".gguf") && (await stat(target).catch(() => undefined))?.isFile();
    const entry = isFile ? undefined : await (await openStore(config)).resolve(target);
    const path = entry?.path ?? target;
    const summary = summarizeGguf(await readGgufInfo(path));
    // A stored model gets what the server would say (declarations, signature, policy); a bare file
    // only its header and the catalog.
    const service = entry === undefined ? undefined : await ModelProvenanceService.create(config, log);
    const { record, assessment } =
      entry === undefined || service === undefined
        ? await describeModelProvenance({ path, catalog: await loadProvenanceCatalog(), names: [] })
        : await service.describe(entry);
    const policy: PolicyResult | null =
      entry === undefined || service === undefined ? null : await service.getPolicyResult(entry);
    const report = {
      ref: entry?.ref ?? null,
      digest: record.digest?.value ?? null,
      path,
      ...summary,
      provenance: record,
      assessment,
      policy,
    };
    if (flags.json) {
      stdout.write(
        `${JSON.stringify(report, (_key, value) => (typeof value === "bigint" ? value.toString() : value), 2)}\n`,
      );
      return 0;
    }
    const lines: Array<[string, unknown]> = [
      ["model", report.ref ?? report.path],
      ["digest", report.digest],
      ["architecture", summary.architecture],
      ["name", summary.name],
      ["parameters", summary.parameterCount.toLocaleString("en")],
      ["quantisation", summary.quantization],
      ["context length", summary.contextLength],
      ["file size", formatBytes(summary.fileSize)],
      ...Object.entries(summary.provenance).map(([key, value]): [string, unknown] => [key, value]),
      [
        "chat template",
        summary.chatTemplate === null ? "(none)" : `${summary.chatTemplate.length} characters`,
      ],
    ];
    for (const [label, value] of lines)
      if (value !== null && value !== undefined) stdout.write(`${label.padEnd(16)} ${String(value)}\n`);
    stdout.write(`\nOpenness\n${formatAssessment(report.ref ?? path, assessment)}`);
    stdout.write(`\nSources\n${formatProvenanceSources(record)}`);
    if (policy !== null) {
      stdout.write(
        `\nServing policy   ${policy.servable ? "may be served" : "refused"}\n${policy.failures.map((failure) => `  ✗ ${failure.rule}: ${failure.message}\n`).join("")}`,
      );
    }
    return 0;
  },
};
