// Formatting of sizes, digests, dates and scores for display. Pure functions; no DOM.

/** @param {number} bytes */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return "unknown";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/**
 * `sha256:0123456789ab` from a full digest, for display next to the full value.
 * @param {string} digest
 */
export function formatShortDigest(digest) {
  const [algorithm, hex] = digest.includes(":") ? digest.split(":", 2) : ["sha256", digest];
  return `${algorithm}:${(hex ?? "").slice(0, 12)}`;
}

/** @param {number} unixSeconds */
export function formatDate(unixSeconds) {
  const date = new Date(unixSeconds * 1000);
  return Number.isNaN(date.getTime()) ? "unknown" : date.toLocaleString();
}

/**
 * A relevance score readably: fused retrieval scores can be tiny.
 * @param {unknown} score
 */
export function formatScore(score) {
  if (typeof score !== "number" || !Number.isFinite(score)) return "";
  return Math.abs(score) >= 0.01 || score === 0 ? score.toFixed(3) : score.toPrecision(2);
}
