// Small hand-drawn SVG plots for the usage charts: time series as lines or bars, with axes, a legend
// and a text summary for screen readers. Series differ by dash pattern and marker as well as colour,
// so they read without colour. No library; built with createElementNS and attribute values only.

const svgNs = "http://www.w3.org/2000/svg";
const width = 560;
const height = 200;
const margin = { top: 12, right: 12, bottom: 28, left: 52 };
const dashes = ["", "6 3", "2 3", "10 3 2 3", "1 5", "8 6"];
const colourCount = 6;

/**
 * @typedef {{ x: number, y: number }} Point x: time in ms since the epoch
 * @typedef {{ name: string, points: Point[] }} Series
 * @typedef {{ title: string, unit: string, kind?: "line" | "bar", series: Series[],
 *   formatValue?: (value: number) => string, xRange?: [number, number] }} ChartOptions xRange: the
 *   period shown (defaults to the data's own span)
 */

/**
 * A figure with the plot, its legend and a caption naming the largest value of each series.
 * @param {ChartOptions} options
 * @returns {HTMLElement}
 */
export function createChart({ title, unit, kind = "line", series, formatValue = formatNumber, xRange }) {
  const figure = document.createElement("figure");
  figure.className = "chart";
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  figure.append(caption);

  const points = series.flatMap((one) => one.points);
  if (points.length === 0) {
    const empty = document.createElement("p");
    empty.className = "hint";
    empty.textContent = "No data in this period.";
    figure.append(empty);
    return figure;
  }
  const xs = points.map((point) => point.x);
  const minX = Math.min(...xs, ...(xRange ? [xRange[0]] : []));
  const maxX = Math.max(...xs, ...(xRange ? [xRange[1]] : []));
  const maxY = niceCeiling(Math.max(...points.map((point) => point.y), 0));
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  /** @param {number} x */
  const toX = (x) => margin.left + (maxX === minX ? plotWidth / 2 : ((x - minX) / (maxX - minX)) * plotWidth);
  /** @param {number} y */
  const toY = (y) => margin.top + plotHeight - (maxY === 0 ? 0 : (y / maxY) * plotHeight);

  const summary = series
    .map((one) => {
      const peak = Math.max(...one.points.map((point) => point.y), 0);
      return `${one.name}: peak ${formatValue(peak)} ${unit}`;
    })
    .join("; ");
  const svg = createSvg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `${title}. ${summary}.`,
    class: "chart-plot",
  });

  // Axes and grid: three horizontal lines with their values, the period's start and end below.
  for (const fraction of [0, 0.5, 1]) {
    const y = toY(maxY * fraction);
    svg.append(createSvg("line", { x1: margin.left, x2: width - margin.right, y1: y, y2: y, class: "grid" }));
    svg.append(createText(formatValue(maxY * fraction), margin.left - 6, y + 4, "end"));
  }
  svg.append(createText(formatTime(minX, maxX - minX), margin.left, height - 8, "start"));
  if (maxX !== minX)
    svg.append(createText(formatTime(maxX, maxX - minX), width - margin.right, height - 8, "end"));

  // A bar's slot: the smallest gap between buckets, so bars keep to their own time.
  const buckets = [...new Set(xs)].sort((a, b) => a - b);
  const gaps = buckets.slice(1).map((x, index) => toX(x) - toX(/** @type {number} */ (buckets[index])));
  const slot = Math.min(
    plotWidth / Math.max(buckets.length, 1),
    ...gaps.filter((gap) => gap > 0),
    plotWidth / 8,
  );
  series.forEach((one, index) => {
    const colour = `series-${index % colourCount}`;
    const sorted = [...one.points].sort((a, b) => a.x - b.x);
    if (kind === "bar") {
      const barWidth = Math.max(1, (slot * 0.8) / series.length);
      for (const point of sorted) {
        const x = toX(point.x) - (slot * 0.8) / 2 + index * barWidth;
        const y = toY(point.y);
        const rect = createSvg("rect", {
          x: clamp(x, margin.left, width - margin.right - barWidth),
          y,
          width: barWidth,
          height: Math.max(0, margin.top + plotHeight - y),
          class: `column ${colour}`,
        });
        rect.append(createTitle(`${one.name}, ${formatTime(point.x, 0)}: ${formatValue(point.y)} ${unit}`));
        svg.append(rect);
      }
      return;
    }
    const path = sorted.map(
      (point, at) => `${at === 0 ? "M" : "L"}${toX(point.x).toFixed(1)},${toY(point.y).toFixed(1)}`,
    );
    svg.append(
      createSvg("path", {
        d: path.join(" "),
        class: `line ${colour}`,
        "stroke-dasharray": dashes[index % dashes.length] || null,
      }),
    );
    for (const point of sorted) {
      const marker = createSvg("circle", {
        cx: toX(point.x),
        cy: toY(point.y),
        r: 2.5,
        class: `marker ${colour}`,
      });
      marker.append(createTitle(`${one.name}, ${formatTime(point.x, 0)}: ${formatValue(point.y)} ${unit}`));
      svg.append(marker);
    }
  });
  figure.append(svg);

  const legend = document.createElement("ul");
  legend.className = "chart-legend";
  series.forEach((one, index) => {
    const item = document.createElement("li");
    const swatch = createSvg("svg", { viewBox: "0 0 24 8", width: 24, height: 8, "aria-hidden": "true" });
    swatch.append(
      kind === "bar"
        ? createSvg("rect", {
            x: 4,
            y: 0,
            width: 16,
            height: 8,
            class: `column series-${index % colourCount}`,
          })
        : createSvg("line", {
            x1: 0,
            x2: 24,
            y1: 4,
            y2: 4,
            class: `line series-${index % colourCount}`,
            "stroke-dasharray": dashes[index % dashes.length] || null,
          }),
    );
    item.append(swatch, ` ${one.name}`);
    legend.append(item);
  });
  figure.append(legend);
  return figure;
}

/**
 * @param {string} tag
 * @param {Record<string, string | number | null>} attributes
 * @returns {SVGElement}
 */
function createSvg(tag, attributes) {
  const element = /** @type {SVGElement} */ (document.createElementNS(svgNs, tag));
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null) element.setAttribute(name, String(value));
  }
  return element;
}

/**
 * @param {string} text
 * @param {number} x
 * @param {number} y
 * @param {"start" | "end"} anchor
 */
function createText(text, x, y, anchor) {
  const element = createSvg("text", { x, y, "text-anchor": anchor, class: "axis-label" });
  element.textContent = text;
  return element;
}

/** @param {string} text */
function createTitle(text) {
  const title = createSvg("title", {});
  title.textContent = text;
  return title;
}

/** The smallest of 1, 2, 2.5, 5 × 10^n at or above `value` (0 stays 0... but an axis needs height). */
/** @param {number} value */
function niceCeiling(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * @param {number} value
 * @param {number} low
 * @param {number} high
 */
function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

/** @param {number} value */
export function formatNumber(value) {
  if (value >= 1e6) return `${(value / 1e6).toFixed(value >= 1e7 ? 0 : 1)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(value >= 1e4 ? 0 : 1)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/**
 * A time for an axis: the clock time within a day, the date too over longer spans.
 * @param {number} ms
 * @param {number} span
 */
function formatTime(ms, span) {
  const date = new Date(ms);
  return span > 36 * 3600 * 1000
    ? date.toLocaleDateString(undefined, { month: "short", day: "numeric" })
    : date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}
