// The Operations page (admin keys only; the server answers member keys with 403 anyway): the live
// queue (`GET /v1/queue`, polled every 2 s while the page is shown and the tab visible), organizations
// and teams with their weights and quotas (create, edit), and API keys (create — the secret shown once,
// with a copy button and a warning — and revoke after a confirmation). The first key closes an open
// server to keyless access: when it is an admin key, this console signs in with it at once.
import { describeError } from "./api.js";
import { byId, createElement } from "./dom.js";
import { formatNumber } from "./svg-chart.js";

/**
 * @typedef {ReturnType<typeof import("./api.js").createApiClient>} ApiClient
 * @typedef {{ tokens_per_minute?: number | null, tokens_per_day?: number | null,
 *   concurrent_requests?: number | null }} Limits
 * @typedef {{ id: string, name: string, weight?: number, limits?: Limits }} Team
 * @typedef {Team & { teams?: Team[] }} Organization
 * @typedef {{ id: string, name: string, prefix?: string, role: string, organization: string, team: string,
 *   created_at?: string, revoked_at?: string | null, last_used_at?: string | null }} KeyRecord
 */

const pollMs = 2000;
const limitFields = /** @type {const} */ ([
  ["tokens_per_minute", "Tokens / minute"],
  ["tokens_per_day", "Tokens / day"],
  ["concurrent_requests", "Concurrent requests"],
]);

/**
 * @param {ApiClient} api
 * @param {{ isOpenServer: () => Promise<boolean>, adoptKey: (key: string) => void }} session whether
 *   the server runs without keys, and how to sign this console in with a new key
 */
export function setUpOperationsPage(api, session) {
  const errorBox = byId("operations-error");
  const queueView = byId("queue-view");
  const queueUpdated = byId("queue-updated");
  const tenantList = byId("tenant-list");
  const orgForm = /** @type {HTMLFormElement} */ (byId("org-create"));
  const keyForm = /** @type {HTMLFormElement} */ (byId("key-create"));
  const keyOrganization = /** @type {HTMLSelectElement} */ (byId("key-organization"));
  const keyTeam = /** @type {HTMLSelectElement} */ (byId("key-team"));
  const keyTable = /** @type {HTMLElement} */ (byId("key-table").querySelector("tbody"));
  const newKey = byId("new-key");

  /** @type {Organization[]} */
  let organizations = [];
  let shown = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;

  /** @param {unknown} error */
  const showError = (error) => {
    errorBox.textContent = describeError(error);
  };

  /**
   * Runs an admin action, shows its error if it fails, then reloads tenants and keys.
   * @param {() => Promise<unknown>} action
   */
  async function act(action) {
    errorBox.textContent = "";
    try {
      await action();
      return true;
    } catch (error) {
      showError(error);
      return false;
    } finally {
      await loadTenants();
      await loadKeys();
    }
  }

  async function pollQueue() {
    clearTimeout(timer);
    if (!shown) return;
    if (document.visibilityState === "visible") {
      try {
        const queue = await api.requestJson("GET", "/v1/queue");
        renderQueue(queueView, queue);
        queueUpdated.textContent = `updated ${new Date().toLocaleTimeString()}`;
      } catch (error) {
        queueView.replaceChildren(createElement("p", { className: "error" }, describeError(error)));
      }
    }
    if (shown) timer = setTimeout(pollQueue, pollMs);
  }

  async function loadTenants() {
    try {
      const body = await api.requestJson("GET", "/v1/admin/organizations");
      organizations = Array.isArray(body?.data) ? body.data : [];
      tenantList.replaceChildren(
        ...organizations.map((organization) => createOrganizationView(organization)),
      );
      if (organizations.length === 0)
        tenantList.append(createElement("p", { className: "hint" }, "No organizations yet."));
      fillKeyTargets();
    } catch (error) {
      showError(error);
    }
  }

  async function loadKeys() {
    try {
      const body = await api.requestJson("GET", "/v1/admin/keys");
      const keys = /** @type {KeyRecord[]} */ (Array.isArray(body?.data) ? body.data : []);
      keyTable.replaceChildren(...keys.map((key) => createKeyRow(key)));
      if (keys.length === 0) {
        keyTable.append(
          createElement(
            "tr",
            {},
            createElement(
              "td",
              { colspan: "8", className: "hint" },
              "No keys yet: the server is open to this machine only.",
            ),
          ),
        );
      }
    } catch (error) {
      showError(error);
    }
  }

  function fillKeyTargets() {
    const chosen = keyOrganization.value;
    keyOrganization.replaceChildren(
      ...organizations.map((organization) => new Option(organization.name, organization.id)),
    );
    if (organizations.some((organization) => organization.id === chosen)) keyOrganization.value = chosen;
    fillTeams();
  }

  function fillTeams() {
    const organization = organizations.find((candidate) => candidate.id === keyOrganization.value);
    const chosen = keyTeam.value;
    keyTeam.replaceChildren(...(organization?.teams ?? []).map((team) => new Option(team.name, team.id)));
    if ([...keyTeam.options].some((option) => option.value === chosen)) keyTeam.value = chosen;
  }

  /** @param {Organization} organization */
  function createOrganizationView(organization) {
    const teams = organization.teams ?? [];
    const teamForm = createElement(
      "form",
      { className: "inline-form" },
      createElement(
        "label",
        {},
        "Team ",
        createElement("input", { name: "name", required: true, autocomplete: "off" }),
      ),
      createElement(
        "label",
        {},
        "Weight ",
        createElement("input", {
          name: "weight",
          type: "number",
          min: "0.01",
          step: "any",
          placeholder: "1",
        }),
      ),
      createElement("button", { type: "submit" }, `Add team to ${organization.name}`),
    );
    teamForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(teamForm);
      void act(() =>
        api.requestJson("POST", `/v1/admin/organizations/${encodeURIComponent(organization.id)}/teams`, {
          name: String(data.get("name")).trim(),
          ...readWeight(data),
        }),
      );
    });
    return createElement(
      "article",
      { className: "tenant", "aria-label": `Organization ${organization.name}` },
      createElement(
        "h3",
        {},
        organization.name,
        " ",
        createElement(
          "span",
          { className: "hint" },
          `weight ${organization.weight ?? 1} · ${describeLimits(organization.limits)}`,
        ),
      ),
      createEditor(
        `${organization.name}`,
        organization,
        `/v1/admin/organizations/${encodeURIComponent(organization.id)}`,
      ),
      createElement(
        "ul",
        { className: "team-list" },
        teams.map((team) =>
          createElement(
            "li",
            {},
            createElement("strong", {}, team.name),
            " ",
            createElement(
              "span",
              { className: "hint" },
              `weight ${team.weight ?? 1} · ${describeLimits(team.limits)}`,
            ),
            createEditor(
              `${organization.name} / ${team.name}`,
              team,
              `/v1/admin/organizations/${encodeURIComponent(organization.id)}/teams/${encodeURIComponent(team.id)}`,
            ),
          ),
        ),
      ),
      teamForm,
    );
  }

  /**
   * A disclosure with a form to change a tenant's weight and limits (empty = unlimited).
   * @param {string} label
   * @param {Team} tenant
   * @param {string} path
   */
  function createEditor(label, tenant, path) {
    const form = createElement(
      "form",
      { className: "inline-form" },
      createElement(
        "label",
        {},
        "Weight ",
        createElement("input", {
          name: "weight",
          type: "number",
          min: "0.01",
          step: "any",
          value: tenant.weight ?? 1,
          required: true,
        }),
      ),
      limitFields.map(([field, text]) =>
        createElement(
          "label",
          {},
          `${text} `,
          createElement("input", {
            name: field,
            type: "number",
            min: "1",
            step: "1",
            placeholder: "unlimited",
            value: tenant.limits?.[field] ?? null,
          }),
        ),
      ),
      createElement("button", { type: "submit" }, "Save"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      /** @type {Record<string, number | null>} */
      const limits = {};
      for (const [field] of limitFields) {
        const value = String(data.get(field) ?? "").trim();
        limits[field] = value === "" ? null : Number(value);
      }
      void act(() => api.requestJson("PATCH", path, { weight: Number(data.get("weight")), limits }));
    });
    return createElement(
      "details",
      { className: "tenant-editor" },
      createElement("summary", { "aria-label": `Edit ${label}` }, "Edit weight and quotas"),
      form,
    );
  }

  /** @param {KeyRecord} key */
  function createKeyRow(key) {
    const revoked = Boolean(key.revoked_at);
    return createElement(
      "tr",
      { "data-revoked": String(revoked) },
      createElement("th", { scope: "row" }, key.name),
      createElement("td", {}, createElement("code", {}, key.prefix ?? key.id)),
      createElement("td", {}, key.role),
      createElement("td", {}, `${key.organization} / ${key.team}`),
      createElement("td", {}, formatWhen(key.created_at)),
      createElement("td", {}, formatWhen(key.last_used_at) || "never"),
      createElement("td", {}, revoked ? `revoked ${formatWhen(key.revoked_at)}` : "active"),
      createElement(
        "td",
        {},
        !revoked &&
          createElement(
            "button",
            {
              type: "button",
              "aria-label": `Revoke key ${key.name}`,
              onclick: () => {
                if (
                  !confirm(
                    `Revoke the key “${key.name}”? Every client using it is refused at once; this cannot be undone.`,
                  )
                )
                  return;
                void act(() => api.requestJson("DELETE", `/v1/admin/keys/${encodeURIComponent(key.id)}`));
              },
            },
            "Revoke",
          ),
      ),
    );
  }

  /**
   * Shows a new key's secret once, with a copy button and a warning that it will not be shown again.
   * @param {string} name
   * @param {string} secret
   * @param {boolean} adopted whether this console now signs in with it
   */
  function showNewKey(name, secret, adopted) {
    const code = createElement("code", { className: "secret", id: "new-key-secret" }, secret);
    const copied = createElement("span", { role: "status", className: "hint" });
    newKey.replaceChildren(
      createElement(
        "p",
        {},
        createElement("strong", {}, `⚠ The key “${name}” is shown only this once.`),
        " Copy it now and store it safely: the server keeps only its hash.",
      ),
      adopted
        ? createElement(
            "p",
            {},
            "The server now requires API keys for every request; this console has signed in with this one.",
          )
        : "",
      createElement(
        "div",
        { className: "secret-row" },
        code,
        createElement(
          "button",
          {
            type: "button",
            onclick: async () => {
              try {
                await navigator.clipboard.writeText(secret);
                copied.textContent = "Copied.";
              } catch {
                // Without clipboard access (plain http on another host), select it for Ctrl+C.
                getSelection()?.selectAllChildren(code);
                copied.textContent = "Selected: press Ctrl+C to copy.";
              }
            },
          },
          "Copy",
        ),
        copied,
        createElement(
          "button",
          {
            type: "button",
            className: "quiet",
            onclick: () => {
              newKey.hidden = true;
              newKey.replaceChildren();
            },
          },
          "Done",
        ),
      ),
    );
    newKey.hidden = false;
  }

  orgForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(orgForm);
    void act(() =>
      api.requestJson("POST", "/v1/admin/organizations", {
        name: String(data.get("name")).trim(),
        ...readWeight(data),
      }),
    ).then((ok) => {
      if (ok) orgForm.reset();
    });
  });
  keyOrganization.addEventListener("change", fillTeams);
  keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(keyForm);
    const name = String(data.get("name")).trim();
    const role = String(data.get("role"));
    void act(async () => {
      const open = await session.isOpenServer();
      const created = await api.requestJson("POST", "/v1/admin/keys", {
        organization: String(data.get("organization")),
        team: String(data.get("team")),
        name,
        role,
      });
      if (typeof created?.key !== "string") return;
      // From now on the server wants a key: keep this console working with the first admin key.
      const adopted = open && role === "admin";
      if (adopted) session.adoptKey(created.key);
      showNewKey(name, created.key, adopted);
      keyForm.reset();
    });
  });
  byId("operations-refresh").addEventListener("click", () => void show());
  document.addEventListener("visibilitychange", () => {
    if (shown && document.visibilityState === "visible") void pollQueue();
  });

  async function show() {
    shown = true;
    errorBox.textContent = "";
    void pollQueue();
    await Promise.all([loadTenants(), loadKeys()]);
  }

  return {
    show,
    hide() {
      shown = false;
      clearTimeout(timer);
    },
  };
}

/**
 * The queue: per pool (model on a backend) its capacity in use and waiting requests, the tenants
 * with work there, and every waiting or running request with its position.
 * @param {HTMLElement} view
 * @param {any} queue
 */
function renderQueue(view, queue) {
  const pools = Array.isArray(queue?.pools) ? queue.pools : [];
  const requests = Array.isArray(queue?.requests) ? queue.requests : [];
  if (pools.length === 0 && requests.length === 0) {
    view.replaceChildren(createElement("p", { className: "hint" }, "Nothing running or waiting."));
    return;
  }
  view.replaceChildren(
    createElement(
      "ul",
      { className: "pool-list" },
      pools.map((/** @type {any} */ pool) => {
        const capacity = Math.max(1, Number(pool.capacity) || 1);
        const fill = createElement("span", { className: "bar-fill" });
        fill.style.width = `${Math.min(100, (Number(pool.running) / capacity) * 100)}%`;
        return createElement(
          "li",
          { className: "pool" },
          createElement(
            "p",
            {},
            createElement("strong", {}, String(pool.model)),
            ` on ${String(pool.backend)}`,
          ),
          createElement(
            "p",
            { className: "pool-load" },
            createElement(
              "span",
              { className: "bar", role: "img", "aria-label": `${pool.running} of ${capacity} slots busy` },
              fill,
            ),
            ` ${pool.running} of ${capacity} running · ${pool.queued} queued`,
          ),
          Array.isArray(pool.tenants) && pool.tenants.length > 0
            ? createElement(
                "ul",
                { className: "pool-tenants" },
                pool.tenants.map((/** @type {any} */ tenant) =>
                  createElement(
                    "li",
                    {},
                    `${tenant.organization} / ${tenant.team} / ${tenant.key}: ${tenant.running} running, ` +
                      `${tenant.queued_interactive} interactive + ${tenant.queued_batch} batch queued, ` +
                      `${formatNumber(Number(tenant.charged_tokens) || 0)} tokens charged`,
                  ),
                ),
              )
            : null,
        );
      }),
    ),
    requests.length > 0
      ? createElement(
          "div",
          { className: "table-scroll", tabindex: "0", role: "region", "aria-label": "Requests" },
          createElement(
            "table",
            { className: "data-table", id: "queue-requests" },
            createElement(
              "thead",
              {},
              createElement(
                "tr",
                {},
                ["State", "Position", "Model", "Tenant", "Priority", "Waited"].map((label) =>
                  createElement("th", { scope: "col" }, label),
                ),
              ),
            ),
            createElement(
              "tbody",
              {},
              requests.map((/** @type {any} */ request) =>
                createElement(
                  "tr",
                  { "data-state": String(request.state) },
                  createElement("td", {}, String(request.state)),
                  createElement("td", { className: "number" }, request.position ?? "—"),
                  createElement("td", {}, String(request.model)),
                  createElement(
                    "td",
                    {},
                    `${request.organization} / ${request.team} / ${request.key_name ?? request.key}`,
                  ),
                  createElement("td", {}, String(request.priority ?? "")),
                  createElement(
                    "td",
                    { className: "number" },
                    `${(Number(request.waited_ms) / 1000).toFixed(1)} s`,
                  ),
                ),
              ),
            ),
          ),
        )
      : "",
  );
}

/** @param {FormData} data */
function readWeight(data) {
  const value = String(data.get("weight") ?? "").trim();
  return value === "" ? {} : { weight: Number(value) };
}

/** @param {Limits | undefined} limits */
function describeLimits(limits) {
  const parts = limitFields
    .filter(([field]) => typeof limits?.[field] === "number")
    .map(([field, text]) => `${text.toLowerCase()} ${formatNumber(/** @type {number} */ (limits?.[field]))}`);
  return parts.length > 0 ? parts.join(", ") : "no quotas";
}

/** @param {string | null | undefined} value */
function formatWhen(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}
