// `ostrom usage`: what each key, team, organisation or model used, per time bucket, from the durable
// usage log the server writes (requests, tokens, refusals, failures, latency).
import { invalidParameter } from "../../errors.ts";
import { getUsageJournalDirectory } from "../../runtime/open-tenancy.ts";
import {
  parseUsageTime,
  type UsageBucket,
  type UsageGrouping,
  UsageLog,
  usageBuckets,
  usageGroupings,
} from "../../tenancy/usage-log.ts";
import type { Command } from "../command.ts";
import { formatTable } from "./ls-command.ts";
import { openTenancyDatabase } from "./tenancy-flags.ts";

const usage =
  "ostrom usage [--since 24h|ISO] [--until ISO] [--by key|team|organization|model] [--bucket minute|hour|day] [--key KEY_ID] [--json]";

const groupTitles: Record<UsageGrouping, string> = {
  key: "KEY",
  team: "TEAM",
  organization: "ORGANISATION",
  model: "MODEL",
};

export const usageCommand: Command = {
  name: "usage",
  usage,
  summary: "Usage per key, team, organisation or model: requests, tokens, refusals, latency.",
  flags: {
    since: {
      type: "string",
      description: "Start: an ISO 8601 time or a span back from now (30m, 24h, 7d); default 24h.",
    },
    until: { type: "string", description: "End (exclusive): ISO 8601 or a span back from now; default now." },
    by: { type: "string", description: "Group by key, team, organization or model; default key." },
    bucket: { type: "string", description: "Time bucket: minute, hour or day (UTC); default day." },
    key: { type: "string", description: "Only this API key's requests." },
    json: { type: "boolean", description: "Print JSON for machines." },
  },
  positionals: [0, 0],
  async run(input) {
    const now = new Date();
    const flag = (name: string) => (typeof input.flags[name] === "string" ? input.flags[name] : undefined);
    const until = parseUsageTime(flag("until") ?? "0m", now, "until");
    const since = parseUsageTime(flag("since") ?? "24h", now, "since");
    const groupBy = parseChoice(flag("by") ?? "key", usageGroupings, "by");
    const bucket = parseChoice(flag("bucket") ?? "day", usageBuckets, "bucket");
    const apiKeyId = flag("key");
    using database = openTenancyDatabase(input.config);
    // With the journals: records a killed server left there are moved in and counted.
    const rows = UsageLog.open(database, {
      journalDirectory: getUsageJournalDirectory(input.config),
    }).summarize({
      since,
      until,
      bucket,
      groupBy,
      ...(apiKeyId === undefined ? {} : { apiKeyId }),
    });
    if (input.flags.json) {
      input.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    const period = `${since.toISOString().slice(0, 16)} – ${until.toISOString().slice(0, 16)} UTC`;
    if (rows.length === 0) {
      input.stdout.write(`No requests recorded ${period}.\n`);
      return 0;
    }
    const round = (value: number | null) => (value === null ? "-" : String(Math.round(value)));
    input.stdout.write(`Usage ${period}, per ${bucket}:\n\n`);
    input.stdout.write(
      formatTable(
        [
          bucket.toUpperCase(),
          groupTitles[groupBy],
          "REQUESTS",
          "PROMPT",
          "COMPLETION",
          "REJECTED",
          "FAILED",
          "MEAN MS",
          "P95 MS",
        ],
        rows.map((row) => [
          formatBucket(row.bucketStart, bucket),
          groupBy === "key" ? `${row.label} (${row.group})` : row.group,
          String(row.requests),
          String(row.promptTokens),
          String(row.completionTokens),
          String(row.rejected),
          String(row.failed),
          round(row.meanLatencyMs),
          round(row.p95LatencyMs),
        ]),
      ),
    );
    return 0;
  },
};

function parseChoice<Choice extends string>(value: string, choices: readonly Choice[], flag: string): Choice {
  if ((choices as readonly string[]).includes(value)) return value as Choice;
  throw invalidParameter(flag, `--${flag} must be one of ${choices.join(", ")}; got "${value}".`);
}

function formatBucket(iso: string, bucket: UsageBucket): string {
  return bucket === "day" ? iso.slice(0, 10) : iso.slice(0, 16).replace("T", " ");
}
