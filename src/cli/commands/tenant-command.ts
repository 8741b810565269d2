// `ostrom tenant`: organisations and their teams, with weights (their share of the machine when busy)
// and quotas. `add` creates an organisation, a team in it, or both at once; `ls` lists them.
import { isOstromError } from "../../errors.ts";
import { slugify, TenantDirectory } from "../../tenancy/tenant-directory.ts";
import type { Command, CommandInput } from "../command.ts";
import { formatTable } from "./ls-command.ts";
import {
  formatLimits,
  limitFlags,
  openTenancyDatabase,
  readLimitFlags,
  readNumberFlag,
} from "./tenancy-flags.ts";

const usage = [
  "ostrom tenant add ORG [--team TEAM] [--weight N] [--tokens-per-minute N] [--tokens-per-day N] [--concurrent N]",
  "       ostrom tenant ls [--json]",
].join("\n");

export const tenantCommand: Command = {
  name: "tenant",
  usage,
  summary: "Organisations and teams: their weights (fair share) and quotas.",
  flags: {
    team: {
      type: "string",
      description: "Add this team to the organisation (add); the weight and quotas are the team's.",
    },
    weight: { type: "string", description: "Relative share when the server is busy (add); default 1." },
    ...limitFlags,
    json: { type: "boolean", description: "Print JSON for machines (ls)." },
  },
  positionals: [1, 2],
  async run(input) {
    const [action, ...rest] = input.positionals;
    using database = openTenancyDatabase(input.config);
    const directory = TenantDirectory.open(database);
    switch (action) {
      case "add":
        if (rest.length !== 1) return wrongArguments(input);
        return database.transaction(() => runAdd(directory, rest[0] ?? "", input));
      case "ls":
        if (rest.length !== 0) return wrongArguments(input);
        return runList(directory, input);
      default:
        input.stderr.write(`ostrom tenant: unknown action "${action ?? ""}"\nUsage: ${usage}\n`);
        return 2;
    }
  },
};

function wrongArguments(input: CommandInput): number {
  input.stderr.write(`ostrom tenant: wrong number of arguments\nUsage: ${usage}\n`);
  return 2;
}

function runAdd(directory: TenantDirectory, organizationName: string, input: CommandInput): number {
  const weight = readNumberFlag(input.flags, "weight");
  const limits = readLimitFlags(input.flags);
  const teamName = typeof input.flags.team === "string" ? input.flags.team : undefined;
  const tenant = { ...(weight === undefined ? {} : { weight }), limits };
  if (teamName === undefined) {
    const organization = directory.createOrganization({ name: organizationName, ...tenant });
    input.stdout.write(
      `Created organisation ${organization.id} (weight ${organization.weight}, ${formatLimits(organization.limits)}).\n`,
    );
    return 0;
  }
  // With --team the organisation may exist already; it is created with defaults when it does not, in
  // the same transaction as the team, so a refused team leaves no new organisation behind.
  let organizationId = slugify(organizationName);
  const lines: string[] = [];
  try {
    directory.getOrganization(organizationId);
  } catch (error) {
    if (!isOstromError(error, "organization_not_found")) throw error;
    organizationId = directory.createOrganization({ name: organizationName }).id;
    lines.push(`Created organisation ${organizationId} (weight 1, unlimited).`);
  }
  const team = directory.createTeam(organizationId, { name: teamName, ...tenant });
  lines.push(
    `Created team ${team.organizationId}/${team.id} (weight ${team.weight}, ${formatLimits(team.limits)}).`,
  );
  input.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

function runList(directory: TenantDirectory, input: CommandInput): number {
  const organizations = directory.listOrganizations();
  if (input.flags.json) {
    input.stdout.write(`${JSON.stringify(organizations, null, 2)}\n`);
    return 0;
  }
  if (organizations.length === 0) {
    input.stdout.write("No organisations. Create one with `ostrom tenant add ORG --team TEAM`.\n");
    return 0;
  }
  const rows = organizations.flatMap((organization) => [
    [organization.id, organization.name, String(organization.weight), formatLimits(organization.limits)],
    ...organization.teams.map((team) => [
      `${organization.id}/${team.id}`,
      team.name,
      String(team.weight),
      formatLimits(team.limits),
    ]),
  ]);
  input.stdout.write(formatTable(["TENANT", "NAME", "WEIGHT", "QUOTAS"], rows));
  return 0;
}
