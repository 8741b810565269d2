// `ostrom key`: API keys — create one for a team (the key is printed once, to stdout alone, so it can
// be captured; the reminder to store it goes to stderr), list them, revoke one. The server requires a
// key on every request as soon as one exists.
import type { Role } from "../../tenancy/principal.ts";
import { roles, TenantDirectory } from "../../tenancy/tenant-directory.ts";
import type { Command, CommandInput } from "../command.ts";
import { formatTable } from "./ls-command.ts";
import { formatLimits, limitFlags, openTenancyDatabase, readLimitFlags } from "./tenancy-flags.ts";

const usage = [
  "ostrom key create ORG/TEAM --name NAME [--role admin|member] [--tokens-per-minute N] [--tokens-per-day N] [--concurrent N]",
  "       ostrom key list [--json]",
  "       ostrom key revoke KEY_ID",
].join("\n");

export const keyCommand: Command = {
  name: "key",
  usage,
  summary: "API keys: create (shown once), list, revoke.",
  flags: {
    name: { type: "string", description: "What the key is for, e.g. who holds it (create); required." },
    role: {
      type: "string",
      description: "admin (may administer tenants and keys) or member (create); default member.",
    },
    ...limitFlags,
    json: { type: "boolean", description: "Print JSON for machines (list)." },
  },
  positionals: [1, 2],
  async run(input) {
    const [action, ...rest] = input.positionals;
    using database = openTenancyDatabase(input.config);
    const directory = TenantDirectory.open(database);
    switch (action) {
      case "create":
        if (rest.length !== 1) return wrongArguments(input);
        return runCreate(directory, rest[0] ?? "", input);
      case "list":
      case "ls":
        if (rest.length !== 0) return wrongArguments(input);
        return runList(directory, input);
      case "revoke":
        if (rest.length !== 1) return wrongArguments(input);
        return runRevoke(directory, rest[0] ?? "", input);
      default:
        input.stderr.write(`ostrom key: unknown action "${action ?? ""}"\nUsage: ${usage}\n`);
        return 2;
    }
  },
};

function wrongArguments(input: CommandInput): number {
  input.stderr.write(`ostrom key: wrong number of arguments\nUsage: ${usage}\n`);
  return 2;
}

function runCreate(directory: TenantDirectory, tenant: string, input: CommandInput): number {
  const [organizationId, teamId, ...extra] = tenant.split("/");
  if (!organizationId || !teamId || extra.length > 0) {
    input.stderr.write(`ostrom key: name the team as ORG/TEAM (see \`ostrom tenant ls\`), got "${tenant}"\n`);
    return 2;
  }
  if (typeof input.flags.name !== "string") {
    input.stderr.write(`ostrom key: --name is required\nUsage: ${usage}\n`);
    return 2;
  }
  const role = typeof input.flags.role === "string" ? input.flags.role : "member";
  if (!(roles as readonly string[]).includes(role)) {
    input.stderr.write(`ostrom key: --role must be admin or member, got "${role}"\n`);
    return 2;
  }
  const { record, key } = directory.createApiKey({
    organizationId,
    teamId,
    name: input.flags.name,
    role: role as Role,
    limits: readLimitFlags(input.flags),
  });
  input.stderr.write(
    `Created ${record.role} key ${record.id} "${record.name}" for ${record.organizationId}/${record.teamId}.\n` +
      "Store it now: it is shown only this once and cannot be recovered (revoke it and create another if lost).\n",
  );
  input.stdout.write(`${key}\n`);
  return 0;
}

function runList(directory: TenantDirectory, input: CommandInput): number {
  const keys = directory.listApiKeys();
  if (input.flags.json) {
    input.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
    return 0;
  }
  if (keys.length === 0) {
    input.stdout.write(
      "No API keys: the server is open to this machine only. Create one with `ostrom key create ORG/TEAM --name NAME`.\n",
    );
    return 0;
  }
  input.stdout.write(
    formatTable(
      ["ID", "NAME", "ROLE", "TENANT", "QUOTAS", "CREATED", "LAST USED", "STATUS"],
      keys.map((key) => [
        key.id,
        key.name,
        key.role,
        `${key.organizationId}/${key.teamId}`,
        formatLimits(key.limits),
        key.createdAt.slice(0, 16).replace("T", " "),
        key.lastUsedAt?.slice(0, 16).replace("T", " ") ?? "never",
        key.revokedAt === null ? "active" : `revoked ${key.revokedAt.slice(0, 10)}`,
      ]),
    ),
  );
  return 0;
}

function runRevoke(directory: TenantDirectory, id: string, input: CommandInput): number {
  const record = directory.revokeApiKey(id);
  input.stdout.write(
    `Revoked key ${record.id} "${record.name}"; requests with it are refused from now on.\n`,
  );
  return 0;
}
