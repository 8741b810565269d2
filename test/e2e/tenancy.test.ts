// Tenants, keys and quotas end to end on the real server and engine: an administrator bootstraps the
// first keys through the admin API while the server is still open (localhost only), after which every
// API path needs a key; roles are enforced; quotas refuse with 429, Retry-After and the limit hit; a
// 50-request concurrent burst waits for running requests' reservations rather than being refused early,
// and never uses more than its quota; usage is accounted per key.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { estimateChatPromptTokens } from "../../src/dispatch/estimate-request-tokens.ts";
import { startTestServer, type TestServer } from "../helpers/start-test-server.ts";
import { getTinyModelPath } from "../helpers/test-models.ts";

let server: TestServer;
let adminKey: string;
let memberKey: string;
let memberKeyId: string;

/** The fields these tests read from the API's JSON answers (each answer has only some of them). */
interface ApiBody {
  error: { code: string; message: string };
  key: string;
  id: string;
  role: string;
  authenticated: boolean;
  organization: string;
  team: string;
  data: unknown[];
  usage: { total_tokens: number };
}

async function call(path: string, key: string | undefined, init: { method?: string; body?: unknown } = {}) {
  const response = await fetch(`${server.url}${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  let body: ApiBody;
  try {
    body = JSON.parse(text) as ApiBody;
  } catch {
    body = { error: { code: "not_json", message: text } } as ApiBody;
  }
  return { status: response.status, headers: response.headers, body };
}

function chat(key: string, maxTokens: number, content = "hello") {
  return call("/v1/chat/completions", key, {
    body: { model: "tiny", messages: [{ role: "user", content }], max_tokens: maxTokens, temperature: 0 },
  });
}

async function createKey(name: string, team: string, role: "admin" | "member", limits?: object) {
  const created = await call("/v1/admin/keys", adminKey, {
    body: { organization: "acme", team, name, role, ...(limits ? { limits } : {}) },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body as { id: string; key: string };
}

before(async () => {
  server = await startTestServer({ "tiny:latest": await getTinyModelPath() });
});
after(() => server.shutdown());

describe("bootstrapping and authentication", () => {
  test("while no key exists the local caller administers; the first key closes the API", async () => {
    assert.equal((await call("/v1/models", undefined)).status, 200);
    const me = await call("/v1/me", undefined);
    assert.equal(me.body.role, "admin");
    assert.equal(me.body.authenticated, false);

    assert.equal(
      (await call("/v1/admin/organizations", undefined, { body: { name: "Acme", weight: 2 } })).status,
      201,
    );
    assert.equal(
      (await call("/v1/admin/organizations/acme/teams", undefined, { body: { name: "Research" } })).status,
      201,
    );
    assert.equal(
      (await call("/v1/admin/organizations/acme/teams", undefined, { body: { name: "Ops" } })).status,
      201,
    );
    // A member key first would lock the administrator out of the HTTP admin endpoints: refused.
    const memberFirst = await call("/v1/admin/keys", undefined, {
      body: { organization: "acme", team: "ops", name: "early", role: "member" },
    });
    assert.equal(memberFirst.status, 400);
    assert.equal((memberFirst.body.error as { param?: string }).param, "role");
    assert.equal((await call("/v1/models", undefined)).status, 200);
    const admin = await call("/v1/admin/keys", undefined, {
      body: { organization: "acme", team: "ops", name: "root", role: "admin" },
    });
    assert.equal(admin.status, 201);
    adminKey = admin.body.key;
    assert.match(adminKey, /^osk_/);
    const member = await createKey("alice", "research", "member");
    memberKey = member.key;
    memberKeyId = member.id;

    // Keys now exist: no key, a wrong key and a malformed header are all refused.
    for (const key of [
      undefined,
      "osk_key_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "nonsense",
    ]) {
      const refused = await call("/v1/models", key);
      assert.equal(refused.status, 401, `key ${key}`);
      assert.equal(refused.body.error.code, "unauthorized");
    }
    // Health and the console's files stay public.
    assert.equal((await call("/health", undefined)).status, 200);
    assert.equal((await fetch(`${server.url}/`)).status, 200);
    // The listing of keys never shows a secret.
    const keys = await call("/v1/admin/keys", adminKey);
    assert.equal(keys.status, 200);
    assert.ok(!JSON.stringify(keys.body).includes(memberKey.slice(-20)));
  });

  test("the official client works with a key; a member may not administer", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: memberKey, maxRetries: 0 });
    const answer = await client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
    });
    assert.equal(answer.object, "chat.completion");
    const me = await call("/v1/me", memberKey);
    assert.deepEqual([me.body.role, me.body.organization, me.body.team], ["member", "acme", "research"]);
    for (const path of ["/v1/admin/keys", "/v1/admin/organizations", "/metrics"]) {
      const forbidden = await call(path, memberKey);
      assert.equal(forbidden.status, 403, path);
      assert.equal(forbidden.body.error.code, "forbidden");
    }
    assert.equal((await call("/metrics", adminKey)).status, 200);
  });

  test("usage is accounted per key; a member sees only their own", async () => {
    const own = await call("/v1/usage?group_by=key&bucket=day", memberKey);
    assert.equal(own.status, 200);
    const rows = own.body.data as { group: string; requests: number; completion_tokens: number }[];
    assert.ok(rows.length >= 1);
    assert.ok(
      rows.every((row) => row.group === memberKeyId),
      JSON.stringify(rows),
    );
    assert.ok(rows.reduce((sum, row) => sum + row.completion_tokens, 0) >= 1, JSON.stringify(rows));
  });

  test("a revoked key is refused at once", async () => {
    const doomed = await createKey("bob", "research", "member");
    const before = await call("/v1/models", doomed.key);
    assert.equal(before.status, 200, JSON.stringify(before.body));
    const revoked = await call(`/v1/admin/keys/${doomed.id}`, adminKey, { method: "DELETE" });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    const refused = await call("/v1/models", doomed.key);
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, "unauthorized");
  });
});

describe("quotas", () => {
  test("an exhausted quota answers 429 with Retry-After and names the limit", async () => {
    const limited = await createKey("carol", "research", "member", { tokens_per_minute: 300 });
    // Reserves prompt bound + 150 ≤ 300: admitted, and settled at its real (much smaller) usage.
    assert.equal((await chat(limited.key, 150)).status, 200);
    // Alone larger than the limit: refused, and waiting would not help, so no Retry-After.
    const tooBig = await chat(limited.key, 400);
    assert.equal(tooBig.status, 429);
    assert.equal(tooBig.body.error.code, "quota_exceeded");
    assert.equal(tooBig.headers.get("x-ostrom-reason"), "apiKey.tokensPerMinute");
    // Fill the minute, then one more that would fit an empty window: refused with Retry-After.
    let refused: Awaited<ReturnType<typeof chat>> | undefined;
    for (let attempt = 0; attempt < 40 && !refused; attempt += 1) {
      const answer = await chat(limited.key, 150);
      if (answer.status === 429) refused = answer;
      else assert.equal(answer.status, 200);
    }
    assert.ok(refused, "the per-minute quota never ran out");
    assert.equal(refused.body.error.code, "quota_exceeded");
    assert.equal(refused.headers.get("x-ostrom-reason"), "apiKey.tokensPerMinute");
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  });

  test("a team's concurrency limit holds across its keys", async () => {
    await call("/v1/admin/organizations/acme/teams", adminKey, {
      body: { name: "Solo", limits: { concurrent_requests: 1 } },
    });
    const one = await createKey("dave", "solo", "member");
    const two = await createKey("erin", "solo", "member");
    const results = await Promise.all([chat(one.key, 40), chat(two.key, 40), chat(one.key, 40)]);
    const statuses = results.map((result) => result.status).sort();
    assert.ok(statuses.includes(200), statuses.join());
    const refusals = results.filter((result) => result.status === 429);
    assert.ok(refusals.length >= 1, statuses.join());
    for (const refusal of refusals)
      assert.equal(refusal.headers.get("x-ostrom-reason"), "team.concurrentRequests");
  });

  test("a 50-request concurrent burst waits for running requests, then uses the quota without overshoot", async (t) => {
    const limit = 1000;
    const burst = await createKey("frank", "research", "member", { tokens_per_minute: limit });
    const contents = Array.from({ length: 50 }, (_, index) => `burst ${index}`);
    const results = await Promise.all(contents.map((content) => chat(burst.key, 8, content)));
    const ok = results.filter((result) => result.status === 200);
    const refused = results.filter((result) => result.status === 429);
    assert.equal(ok.length + refused.length, 50, results.map((result) => result.status).join());
    for (const refusal of refused) {
      assert.equal(refusal.body.error.code, "quota_exceeded");
      assert.equal(refusal.headers.get("x-ostrom-reason"), "apiKey.tokensPerMinute");
    }
    const used = ok.reduce((sum, result) => sum + result.body.usage.total_tokens, 0);
    // Without reservations all 50 would run: the burst would use ≈50× one request, beyond the limit.
    const perRequest = used / Math.max(1, ok.length);
    assert.ok(perRequest * 50 > limit, `the test needs 50 requests to exceed the limit (${perRequest} each)`);
    assert.ok(used <= limit, `the burst used ${used} tokens against a limit of ${limit}`);
    // Requests held back only by others' reservations waited for them to settle instead of a 429, so
    // the burst is refused only once settled usage leaves no room for one more reservation (its upper
    // bound, prompt bytes + template allowance + max_tokens): the last one admitted needed that much.
    const reservation = Math.max(
      ...contents.map(
        (content) => estimateChatPromptTokens({ messages: [{ role: "user", content }], tools: [] }) + 8,
      ),
    );
    const wouldFit = Math.floor(limit / perRequest);
    const admissible = Math.floor((limit - reservation) / perRequest) + 1;
    t.diagnostic(
      `quota accuracy: ${ok.length} of 50 answered, ${refused.length} refused, ${used} tokens used of ${limit} ` +
        `(overshoot ${Math.max(0, used - limit)}); ${perRequest.toFixed(1)} tokens per request, so ${wouldFit} ` +
        `would have fit at their real size and ${admissible} with room kept for the last one's reservation ` +
        `of ${reservation}`,
    );
    assert.ok(
      Math.abs(ok.length - admissible) <= 1,
      `${ok.length} answered where ${admissible} fit with the last reservation (${wouldFit} at real size)`,
    );
    assert.ok(refused.length >= 1, "the burst is larger than the quota");
    // The accounted usage agrees with what the answers reported.
    const usage = await call(`/v1/usage?group_by=key&bucket=day&api_key_id=${burst.id}`, adminKey);
    const accounted = (
      usage.body.data as { prompt_tokens: number; completion_tokens: number; rejected: number }[]
    ).reduce((sum, row) => sum + row.prompt_tokens + row.completion_tokens, 0);
    assert.equal(accounted, used);
  });
});
