// The Usage page: plots of the usage the server recorded (`GET /v1/usage`), per time bucket and
// grouped by key, team, organization or model — tokens over time, latency, and rejected requests.
// Admins see everyone's usage; the server gives members only their own, whatever they ask.
import { describeError } from "./api.js";
import { byId, createElement } from "./dom.js";
import { createChart, formatNumber } from "./svg-chart.js";

/**
 * @typedef {ReturnType<typeof import("./api.js").createApiClient>} ApiClient
 * @typedef {import("./api.js").Me} Me
 * @typedef {{ bucket_start: string, group: string, requests: number, prompt_tokens: number,
 *   completion_tokens: number, rejected: number, mean_latency_ms: number | null,
 *   p95_latency_ms: number | null }} UsageRow
 * @typedef {import("./svg-chart.js").Series} Series
 */

/** Each period: how far back, and the bucket that gives a readable number of points. */
const periods = /** @type {const} */ ({
  hour: { ms: 3600_000, bucket: "minute" },
  day: { ms: 24 * 3600_000, bucket: "hour" },
  week: { ms: 7 * 24 * 3600_000, bucket: "day" },
});
/** Plots get unreadable with many lines: the busiest groups are drawn, the rest summed as "other". */
const maxGroups = 5;

/**
 * @param {ApiClient} api
 * @param {Promise<Me | null>} me
 */
export function setUpUsagePage(api, me) {
  const form = /** @type {HTMLFormElement} */ (byId("usage-form"));
  const period = /** @type {HTMLSelectElement} */ (byId("usage-period"));
  const group = /** @type {HTMLSelectElement} */ (byId("usage-group"));
  const charts = byId("usage-charts");
  const errorBox = byId("usage-error");
  const scope = byId("usage-scope");

  async function show() {
    const who = await me;
    scope.textContent =
      who && who.role !== "admin" ? `Your own usage (key ${who.key_name ?? "?"}).` : "Usage of every tenant.";
    const chosen = periods[/** @type {keyof typeof periods} */ (period.value)] ?? periods.day;
    const since = new Date(Date.now() - chosen.ms).toISOString();
    charts.setAttribute("aria-busy", "true");
    errorBox.textContent = "";
    try {
      const query = new URLSearchParams({ since, bucket: chosen.bucket, group_by: group.value });
      const body = await api.requestJson("GET", `/v1/usage?${query}`);
      const rows = /** @type {UsageRow[]} */ (Array.isArray(body?.data) ? body.data : []);
      charts.replaceChildren(...createUsageCharts(rows, [Date.parse(since), Date.now()]));
    } catch (error) {
      charts.replaceChildren();
      errorBox.textContent = describeError(error);
    } finally {
      charts.setAttribute("aria-busy", "false");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void show();
  });
  return { show };
}

/**
 * Totals, then three plots: tokens per group over time, latency (mean and p95), rejections.
 * @param {UsageRow[]} rows
 * @param {[number, number]} xRange the period asked for
 * @returns {HTMLElement[]}
 */
function createUsageCharts(rows, xRange) {
  const totals = rows.reduce(
    (sum, row) => ({
      requests: sum.requests + (row.requests ?? 0),
      tokens: sum.tokens + (row.prompt_tokens ?? 0) + (row.completion_tokens ?? 0),
      rejected: sum.rejected + (row.rejected ?? 0),
    }),
    { requests: 0, tokens: 0, rejected: 0 },
  );
  const summary = createElement(
    "ul",
    { className: "usage-totals" },
    createElement("li", {}, createElement("strong", {}, formatNumber(totals.requests)), " requests"),
    createElement("li", {}, createElement("strong", {}, formatNumber(totals.tokens)), " tokens"),
    createElement("li", {}, createElement("strong", {}, formatNumber(totals.rejected)), " rejected"),
  );

  const busiest = topGroups(rows);
  /** @type {Map<string, Map<number, number>>} */
  const tokens = new Map();
  /** @type {Map<number, { requests: number, latency: number, p95: number, rejected: number }>} */
  const byBucket = new Map();
  for (const row of rows) {
    const x = Date.parse(row.bucket_start);
    if (Number.isNaN(x)) continue;
    const name = busiest.has(row.group) ? row.group : "other";
    const series = tokens.get(name) ?? new Map();
    series.set(x, (series.get(x) ?? 0) + (row.prompt_tokens ?? 0) + (row.completion_tokens ?? 0));
    tokens.set(name, series);
    const bucket = byBucket.get(x) ?? { requests: 0, latency: 0, p95: 0, rejected: 0 };
    const served = Math.max(0, (row.requests ?? 0) - (row.rejected ?? 0));
    if (typeof row.mean_latency_ms === "number") bucket.latency += row.mean_latency_ms * served;
    // The p95 of several groups is not known from theirs; the largest is an upper bound worth seeing.
    if (typeof row.p95_latency_ms === "number") bucket.p95 = Math.max(bucket.p95, row.p95_latency_ms);
    bucket.requests += served;
    bucket.rejected += row.rejected ?? 0;
    byBucket.set(x, bucket);
  }
  /** @param {Map<number, number>} points */
  const toPoints = (points) => [...points].map(([x, y]) => ({ x, y }));
  const buckets = [...byBucket];
  const ms = (/** @type {number} */ value) => `${formatNumber(value)}`;
  return [
    summary,
    createChart({
      title: "Tokens over time",
      unit: "tokens",
      xRange,
      series: [...tokens].map(([name, points]) => ({ name, points: toPoints(points) })),
    }),
    createChart({
      title: "Latency",
      unit: "ms",
      xRange,
      formatValue: ms,
      series: [
        {
          name: "mean",
          points: buckets
            .filter(([, bucket]) => bucket.requests > 0)
            .map(([x, bucket]) => ({ x, y: bucket.latency / bucket.requests })),
        },
        { name: "p95 (largest of the groups)", points: buckets.map(([x, bucket]) => ({ x, y: bucket.p95 })) },
      ],
    }),
    createChart({
      title: "Rejected requests",
      unit: "requests",
      xRange,
      kind: "bar",
      series: [{ name: "rejected", points: buckets.map(([x, bucket]) => ({ x, y: bucket.rejected })) }],
    }),
  ];
}

/**
 * The groups with the most tokens, at most `maxGroups`.
 * @param {UsageRow[]} rows
 */
function topGroups(rows) {
  /** @type {Map<string, number>} */
  const totals = new Map();
  for (const row of rows) {
    totals.set(
      row.group,
      (totals.get(row.group) ?? 0) + (row.prompt_tokens ?? 0) + (row.completion_tokens ?? 0),
    );
  }
  const sorted = [...totals].sort((a, b) => b[1] - a[1]);
  // With one group too many, drawing it beats an "other" line of one.
  const kept = sorted.length <= maxGroups + 1 ? sorted : sorted.slice(0, maxGroups);
  return new Set(kept.map(([name]) => name));
}
