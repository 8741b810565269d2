// Plain-text rendering of the sources of a grounded answer (numbered as cited, with license and
// attribution, and those left out by the license rule), for the CLI and the MCP `ask` tool.
import type { ExcludedSource, GroundingSource } from "./ground-chat.ts";

export function formatSources(
  sources: readonly GroundingSource[],
  excluded: readonly ExcludedSource[],
): string {
  const lines: string[] = [];
  if (sources.length === 0) lines.push("No source in the knowledge base matched the question.");
  else {
    lines.push("Sources:");
    for (const source of sources)
      lines.push(
        `[${source.index}] ${source.title} — ${source.location} (score ${formatScore(source.score)})`,
        `    license: ${source.license}${source.attribution ? ` · ${source.attribution}` : ""}`,
      );
  }
  if (excluded.length > 0) {
    lines.push("", "Left out by the license rule:");
    for (const source of excluded)
      lines.push(
        `- ${source.title} — ${source.source} (license: ${source.license}${source.attribution ? ` · ${source.attribution}` : ""})`,
      );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * A retrieval score showing its real value: BM25 scores of a term found in most chunks are tiny
 * (FTS5 floors their IDF near zero), and a fixed two decimals would print 0.00.
 */
export function formatScore(score: number): string {
  if (score === 0 || !Number.isFinite(score)) return String(score);
  return Math.abs(score) >= 0.01 ? score.toFixed(3) : score.toExponential(2);
}
