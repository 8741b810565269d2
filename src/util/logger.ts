// A minimal leveled logger writing one line per event to stderr. Never given secrets or bodies.

export type LogLevel = "error" | "warn" | "info" | "debug";

const levelRank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const log = (messageLevel: LogLevel) => (message: string) => {
    if (levelRank[messageLevel] <= levelRank[level])
      write(`${new Date().toISOString()} ${messageLevel} ${message}\n`);
  };
  return { error: log("error"), warn: log("warn"), info: log("info"), debug: log("debug") };
}

export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {} };
