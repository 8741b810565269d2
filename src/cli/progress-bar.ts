// A one-line progress bar for long transfers on a terminal; plain periodic lines otherwise.

export interface ProgressBar {
  update(received: number, total: number | undefined, label: string): void;
  finish(message: string): void;
}

export function createProgressBar(
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
): ProgressBar {
  let lastDraw = 0;
  let lastPercentLogged = -10;
  return {
    update(received, total, label) {
      const now = Date.now();
      const complete = total !== undefined && received >= total;
      if (stream.isTTY && now - lastDraw < 100 && !complete) return;
      lastDraw = now;
      const percent = total ? Math.floor((received / total) * 100) : undefined;
      const amount = total ? `${formatBytes(received)} / ${formatBytes(total)}` : formatBytes(received);
      if (stream.isTTY) {
        const width = 30;
        const filled = percent === undefined ? 0 : Math.round((percent / 100) * width);
        const bar =
          percent === undefined ? "" : `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${percent}% `;
        stream.write(`\r${label} ${bar}${amount}\x1b[K`);
      } else if (percent !== undefined && percent >= lastPercentLogged + 10) {
        lastPercentLogged = percent - (percent % 10);
        stream.write(`${label} ${percent}% ${amount}\n`);
      }
    },
    finish(message) {
      stream.write(stream.isTTY ? `\r${message}\x1b[K\n` : `${message}\n`);
    },
  };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
