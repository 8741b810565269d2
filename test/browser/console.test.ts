// The web console in a real browser: Debian's Chromium driven by playwright-core against the real
// server and engine (tiny generated models). Screenshots go to test-artifacts/. Chromium is installed
// by scripts/install-browser.sh (CI runs it); without it these tests fail rather than skip.
// The main server runs a serving policy (OSI-approved license required) over two tiny models: the
// Apache-2.0 one everyone chats with, and an unlicensed one the policy refuses; it serves one request
// at a time so that a second one queues. A second server, with API keys, drives sign-in and operations.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { createRandomLlamaGguf } from "../../src/gguf/create-random-llama.ts";
import { endless } from "../helpers/endless.ts";
import { startTestServer, type TestServer } from "../helpers/start-test-server.ts";
import { createTempDir, getTinyModelPath } from "../helpers/test-models.ts";

const chromiumPath = "/usr/bin/chromium";
const artifactsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../test-artifacts");
/** Flags that keep Chromium from reaching out to Google's services, which this network refuses. */
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** The console's budget for its own JavaScript and CSS, gzipped (issue: ≤ 200 KB). */
const assetBudgetBytes = 200 * 1024;

let server: TestServer;
let browser: Browser;

/**
 * The few browser APIs that the callbacks passed to `page.evaluate` use, typed by hand: they run in
 * the page, but the project's typecheck has no DOM library (its code is server code). Each callback
 * reads them as `globalThis as unknown as PageGlobals`.
 */
interface PageElement {
  readonly tagName: string;
  readonly id: string;
  readonly textContent: string | null;
  readonly innerHTML: string;
  readonly dataset: Record<string, string | undefined>;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  append(...nodes: unknown[]): void;
}
interface PageGlobals {
  document: {
    activeElement: PageElement | null;
    documentElement: { scrollWidth: number };
    getElementById(id: string): PageElement | null;
    querySelectorAll(selector: string): Iterable<PageElement>;
    createElement(tag: string): PageElement;
  };
  innerWidth: number;
  alert(message?: unknown): void;
  localStorage: { getItem(key: string): string | null };
  MutationObserver: new (callback: () => void) => { observe(target: PageElement, options: object): void };
  performance: {
    getEntriesByName(name: string): Array<{ startTime: number }>;
    getEntriesByType(type: "resource"): Array<{ name: string; encodedBodySize: number }>;
  };
  /** Set by `watchAnswer`. */
  answerUpdates: AnswerUpdate[];
  /** Set by the injection test. */
  alerts: unknown[];
}
interface AnswerUpdate {
  state: string;
  length: number;
}

interface OpenedConsole {
  page: Page;
  /** Console errors and uncaught exceptions of the page. */
  errors: string[];
  /** Every URL the page requested. */
  requests: string[];
}

async function openConsole(
  pathAndQuery = "/",
  viewport = { width: 1100, height: 800 },
  target: TestServer = server,
): Promise<OpenedConsole> {
  // A fresh context per test: its own localStorage, so conversations do not leak between tests.
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("request", (request) => requests.push(request.url()));
  await page.goto(`${target.url}${pathAndQuery}`);
  if (target === server) {
    await page.locator("#model-select option[value='tiny:latest']").waitFor({ state: "attached" });
  }
  return { page, errors, requests };
}

/** A tiny random llama whose GGUF names a license (the policy of the main server requires an OSI one). */
async function createLicensedTinyModel(license: string): Promise<string> {
  const file = path.join(await createTempDir("ostrom-console-model-"), "licensed-tiny.gguf");
  await createRandomLlamaGguf(file, {
    name: "Ostrom tiny licensed llama",
    extraMetadata: [["general.license", { type: "string", value: license }]],
  });
  return file;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(artifactsDir, `console-${name}.png`), fullPage: true });
}

async function getLoadedModel() {
  const body = (await (await fetch(`${server.url}/health`)).json()) as {
    loaded_models: Array<{ activeRequests: number; cancelledRequests: number }>;
  };
  return body.loaded_models[0];
}

/** The last assistant message's text, its state, and the lengths it showed while it streamed. */
async function watchAnswer(page: Page): Promise<void> {
  await page.evaluate(() => {
    const page = globalThis as unknown as PageGlobals;
    const { document } = page;
    const seen: AnswerUpdate[] = [];
    page.answerUpdates = seen;
    new page.MutationObserver(() => {
      const answer = [...document.querySelectorAll(".message-assistant")].at(-1);
      if (!answer) return;
      const length = answer.querySelector(".message-body")?.textContent?.length ?? 0;
      seen.push({ state: answer.dataset.state ?? "", length });
    }).observe(document.getElementById("transcript")!, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
}

async function sendMessage(page: Page, text: string): Promise<void> {
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByLabel("Message", { exact: true }).press("Enter");
}

before(async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium is missing at ${chromiumPath}: run scripts/install-browser.sh (it installs Debian's chromium; CI runs it).`,
    );
  }
  await mkdir(artifactsDir, { recursive: true });
  browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
});

after(async () => {
  await browser?.close();
});

describe("web console in Chromium", () => {
  before(async () => {
    const policyFile = path.join(await createTempDir("ostrom-console-policy-"), "policy.json");
    await writeFile(policyFile, JSON.stringify({ requireOsiApprovedLicense: true }));
    server = await startTestServer(
      {
        "tiny:latest": await createLicensedTinyModel("Apache-2.0"),
        "closed:latest": await getTinyModelPath(),
      },
      // The default model answers for knowledge bases that name none (kb:<name>).
      { policy: policyFile, parallel: "1", "default-model": "tiny:latest" },
    );
  });

  after(async () => {
    await server?.shutdown();
  });

  test("loads fast, with no console errors, only same-origin requests, and small assets", async (t) => {
    const { page, errors, requests } = await openConsole();
    const timing = await page.evaluate(() => {
      const { performance } = globalThis as unknown as PageGlobals;
      const ready = performance.getEntriesByName("ostrom:models-ready")[0];
      const assets = performance
        .getEntriesByType("resource")
        .filter((entry) => /\.(js|css)$/.test(new URL(entry.name).pathname));
      return {
        modelsReadyMs: ready?.startTime ?? Number.NaN,
        assetBytes: assets.reduce((sum, entry) => sum + entry.encodedBodySize, 0),
        assetCount: assets.length,
      };
    });
    await screenshot(page, "chat-empty");
    t.diagnostic(
      `first usable screen (navigation start → model picker filled): ${timing.modelsReadyMs.toFixed(0)} ms; ` +
        `JS+CSS: ${timing.assetCount} files, ${(timing.assetBytes / 1024).toFixed(1)} KB gzipped`,
    );
    assert.deepEqual(errors, []);
    const origin = new URL(server.url).origin;
    const foreign = requests.filter((url) => new URL(url).origin !== origin);
    assert.deepEqual(foreign, [], "every request goes to the server itself");
    assert.ok(timing.assetCount >= 2, "the console's scripts and styles were measured");
    assert.ok(timing.assetBytes > 0 && timing.assetBytes <= assetBudgetBytes, `${timing.assetBytes} bytes`);
    assert.ok(Number.isFinite(timing.modelsReadyMs), "the first usable screen was measured");
    assert.equal(await page.getByLabel("Model", { exact: true }).inputValue(), "tiny:latest");
    await page.context().close();
  });

  test("chat streams an answer from the real engine token by token, and keeps the conversation", async () => {
    // The tiny random model's greedy answer is blank lines; sampling with a seed gives visible text
    // that is still reproducible.
    const { page, errors, requests } = await openConsole("/?temperature=1&seed=2&max_tokens=300");
    await page.getByLabel("Model", { exact: true }).selectOption("tiny:latest");
    await watchAnswer(page);
    await sendMessage(page, "Tell me a story.");
    const answer = page.locator(".message-assistant").last();
    await answer.and(page.locator("[data-state='done']")).waitFor({ timeout: 60_000 });
    await screenshot(page, "chat-answer");

    const updates = await page.evaluate(() => (globalThis as unknown as PageGlobals).answerUpdates);
    const finalLength = (await answer.locator(".message-body").textContent())?.length ?? 0;
    const streamedLengths = new Set(
      updates.filter((update) => update.state === "streaming" && update.length > 0).map((u) => u.length),
    );
    assert.ok(finalLength > 0, "the answer has text");
    assert.ok(
      streamedLengths.size >= 2,
      `the answer grew in place while streaming (lengths seen: ${[...streamedLengths].join(", ")})`,
    );
    assert.ok(Math.min(...streamedLengths) < finalLength, "text appeared before the answer was complete");

    // The console shows exactly what the API answers (greedy decoding is deterministic).
    const stored = await page.evaluate(() =>
      (globalThis as unknown as PageGlobals).localStorage.getItem("ostrom.conversations.v1"),
    );
    const conversations = JSON.parse(stored ?? "[]") as Array<{
      title: string;
      messages: Array<{ role: string; content: string }>;
    }>;
    assert.equal(conversations.length, 1);
    const [question, reply] = conversations[0]!.messages;
    assert.deepEqual(question, { role: "user", content: "Tell me a story." });
    const expected = await server.client.chat.completions.create({
      model: "tiny:latest",
      messages: [{ role: "user", content: "Tell me a story." }],
      temperature: 1,
      seed: 2,
      max_tokens: 300,
    });
    assert.equal(reply?.content, expected.choices[0]!.message.content);
    assert.equal(
      await answer.locator(".message-meta").textContent(),
      `${expected.usage!.completion_tokens} tokens`,
    );

    // The conversation survives a reload.
    await page.reload();
    await page.getByRole("button", { name: "Tell me a story.", exact: true }).waitFor();
    assert.equal(await page.locator(".message-assistant").count(), 1);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      requests.filter((url) => new URL(url).origin !== new URL(server.url).origin),
      [],
    );
    await page.context().close();
  });

  test("Stop ends a long answer at once and the server cancels the generation", async () => {
    const { page, errors } = await openConsole();
    await page.getByText("Options").click();
    await page.getByLabel("Temperature", { exact: true }).fill("0");
    await page.getByLabel("Max tokens", { exact: true }).fill("1800");
    const before = (await getLoadedModel()) ?? { cancelledRequests: 0 };
    await sendMessage(page, "Write a very long story.");
    const answer = page.locator(".message-assistant").last();
    const body = answer.locator(".message-body");
    // Greedy, the tiny model writes blank lines until max_tokens: the token count shows progress.
    const meta = answer.locator(".message-meta");
    await answer.locator(".message-meta", { hasText: /Generating… \d+ tokens?/ }).waitFor();
    await page.getByRole("button", { name: "Stop" }).click();
    await answer.and(page.locator("[data-state='stopped']")).waitFor();
    await screenshot(page, "chat-stopped");

    const stoppedText = await meta.textContent();
    const stoppedAfter = Number(/Stopped after (\d+) tokens?/.exec(stoppedText ?? "")?.[1]);
    assert.ok(stoppedAfter >= 1 && stoppedAfter < 1800, stoppedText ?? "");
    const stoppedBody = await body.textContent();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await meta.textContent(), stoppedText, "nothing arrives after Stop");
    assert.equal(await body.textContent(), stoppedBody);
    assert.equal(await page.getByRole("button", { name: "Send" }).isEnabled(), true);
    assert.equal(await page.getByRole("button", { name: "Stop" }).isEnabled(), false);

    let model = await getLoadedModel();
    for (
      let attempt = 0;
      attempt < 100 && !(model && model.cancelledRequests > before.cancelledRequests);
      attempt++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      model = await getLoadedModel();
    }
    assert.equal(model?.cancelledRequests, before.cancelledRequests + 1, "the generation was cancelled");
    assert.equal(model?.activeRequests, 0);
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test("API errors are shown with their message and code", async () => {
    const { page } = await openConsole("/?max_tokens=999999");
    await sendMessage(page, "Hello");
    const alert = page.getByRole("alert").filter({ hasText: "invalid_parameter" });
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? "", /max_tokens/);
    await screenshot(page, "chat-error");
    await page.context().close();
  });

  test("model output is rendered as text, never as HTML", async () => {
    const { page } = await openConsole();
    const hostile =
      "Look: <img src=x onerror=alert(1)> and <script>alert(2)</script>\n\n" +
      "- [click](javascript:alert(3)) and <b>bold?</b>\n- **strong** _em_ `<i>code</i>`\n\n" +
      "```html\n<script>alert(4)</script>\n```\n\n[safe](https://example.org/a?b=1)";
    await page.evaluate(() => {
      const page = globalThis as unknown as PageGlobals;
      page.alerts = [];
      page.alert = (message) => page.alerts.push(message);
    });
    // The real UI path (SSE parsing, streaming render) with a scripted answer: a real model will
    // not write this on demand.
    const events = [...hostile.match(/[\s\S]{1,7}/g)!].map(
      (piece) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece } }] })}\n\n`,
    );
    await page.route("**/v1/chat/completions", (route) =>
      route.fulfill({
        status: 200,
        contentType: "text/event-stream",
        body: `${events.join("")}data: [DONE]\n\n`,
      }),
    );
    await sendMessage(page, "Say something dangerous.");
    const answer = page.locator(".message-assistant").last();
    await answer.and(page.locator("[data-state='done']")).waitFor();
    await screenshot(page, "chat-hostile");

    const view = await answer.locator(".message-body").evaluate((element) => ({
      text: element.textContent ?? "",
      tags: [...element.querySelectorAll("*")].map((node) => node.tagName.toLowerCase()),
      links: [...element.querySelectorAll("a")].map((link) => link.getAttribute("href")),
      code: [...element.querySelectorAll("pre code")].map((node) => node.textContent),
    }));
    assert.ok(view.text.includes("<img src=x onerror=alert(1)>"), view.text);
    assert.ok(view.text.includes("<script>alert(2)</script>"));
    assert.ok(view.text.includes("<b>bold?</b>"));
    for (const tag of ["img", "script", "b", "i", "iframe", "svg"]) assert.ok(!view.tags.includes(tag), tag);
    assert.deepEqual(view.links, ["https://example.org/a?b=1"], "only the http(s) link became a link");
    assert.deepEqual(view.code, ["<script>alert(4)</script>"]);
    for (const tag of ["ul", "li", "strong", "em", "code", "pre", "p"])
      assert.ok(view.tags.includes(tag), tag);

    // The renderer itself, on more hostile shapes.
    const rendered = await page.evaluate(async () => {
      const rendererUrl = "/js/markdown.js";
      const { renderMarkdown } = await import(rendererUrl);
      const container = (globalThis as unknown as PageGlobals).document.createElement("div");
      container.append(
        renderMarkdown(
          "<svg onload=alert(5)> [x](data:text/html,<script>alert(6)</script>) [y]( javascript:alert(7)) " +
            '[z](http://a"onmouseover="alert(8)) *<img src=x onerror=alert(9)>* ![i](https://e.org/i.png)',
        ),
      );
      return {
        html: container.innerHTML,
        elements: [...container.querySelectorAll("*")].map((node) => node.tagName.toLowerCase()),
        hrefs: [...container.querySelectorAll("a")].map((link) => link.getAttribute("href")),
      };
    });
    assert.ok(!rendered.elements.some((tag) => ["svg", "img", "script"].includes(tag)), rendered.html);
    for (const href of rendered.hrefs) assert.match(href ?? "", /^https?:\/\/[^"\s]*$/, rendered.html);
    assert.ok(!/on\w+=/.test(rendered.html.replace(/&[^;]+;|"[^"]*"|>[^<]*</g, "")), rendered.html);

    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(await page.evaluate(() => (globalThis as unknown as PageGlobals).alerts), []);
    await page.context().close();
  });

  test("the Models page lists the model with its size, digest and details", async () => {
    const { page, errors } = await openConsole("/#/models");
    const card = page.getByRole("article", { name: "tiny:latest" });
    await card.waitFor();
    assert.equal(await page.locator("#chat-page").isVisible(), false, "only the Models page shows");
    const entry = await server.store.resolve("tiny:latest");
    assert.match((await card.textContent()) ?? "", /\d+(\.\d)? KB/);
    const digest = card.locator("code").first();
    assert.equal(await digest.getAttribute("title"), entry.digest);
    await card.getByRole("button", { name: "Details" }).click();
    await card.locator(".model-details[aria-busy='false']").waitFor();
    assert.match((await card.locator(".model-details").textContent()) ?? "", /Owner\s*local/);
    await screenshot(page, "models");

    await card.getByRole("button", { name: "Chat with tiny:latest" }).click();
    await page.getByLabel("Message", { exact: true }).waitFor();
    assert.equal(await page.getByLabel("Model", { exact: true }).inputValue(), "tiny:latest");
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test("works at a phone's width without sideways scrolling, and from the keyboard", async () => {
    const { page } = await openConsole("/", { width: 360, height: 740 });
    await screenshot(page, "narrow");
    const overflow = await page.evaluate(() => {
      const page = globalThis as unknown as PageGlobals;
      return page.document.documentElement.scrollWidth - page.innerWidth;
    });
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);

    // Tab order reaches the main controls, each with an accessible name.
    const reached: string[] = [];
    for (let step = 0; step < 12; step++) {
      await page.keyboard.press("Tab");
      reached.push(
        await page.evaluate(() => {
          const element = (globalThis as unknown as PageGlobals).document.activeElement;
          return `${element?.tagName.toLowerCase()}#${element?.id ?? ""}`;
        }),
      );
    }
    for (const control of ["select#model-select", "textarea#message-input", "button#new-chat"]) {
      assert.ok(reached.includes(control), `${control} in ${reached.join(" ")}`);
    }
    await page.context().close();
  });
  test("the openness card shows the MOF grid, class, OSAID verdict, warnings and sources; the BOM downloads", async () => {
    const { page, errors } = await openConsole("/#/models");
    const card = page.getByRole("article", { name: "tiny:latest" });
    await card.getByRole("button", { name: "Details" }).click();
    const openness = card.getByRole("region", { name: "Openness of tiny:latest" });
    await openness.waitFor();
    await screenshot(page, "openness-card");

    // What the card shows is what the API says.
    const response = await fetch(`${server.url}/v1/models/tiny:latest/provenance`);
    const provenance = (await response.json()) as {
      assessment: {
        mof_class_label: string;
        osaid: { passes: boolean; criteria: Array<{ reason: string }> };
        components: Array<{ id: string; name: string; verdict: string }>;
        classes: Array<{ label: string; met: number; required: number }>;
        flags: Array<{ code: string; message: string }>;
      };
    };
    const { assessment } = provenance;
    const cells = openness.locator(".mof-grid > li");
    assert.equal(await cells.count(), 17, "the 17 MOF components");
    const words = {
      open: "Open",
      "open-wrong-kind": "Open",
      restricted: "Restricted",
      unlicensed: "Restricted",
      missing: "Missing",
      unknown: "Not stated",
    } as Record<string, string>;
    for (const component of assessment.components) {
      const cell = openness.locator(`.mof-cell[data-component='${component.id}']`);
      // Status as a word and an icon, not colour alone.
      assert.equal(await cell.locator(".mof-status").textContent(), words[component.verdict], component.id);
      assert.notEqual((await cell.locator(".mof-icon").textContent())?.trim(), "");
      assert.equal(await cell.locator(".mof-name").textContent(), component.name);
    }
    const text = (await openness.textContent()) ?? "";
    assert.ok(text.includes(assessment.mof_class_label), assessment.mof_class_label);
    assert.ok(text.includes(assessment.osaid.passes ? "Passes" : "Does not pass"));
    for (const progress of assessment.classes) {
      assert.ok(text.includes(`${progress.met} of ${progress.required}`), progress.label);
    }
    assert.ok(assessment.flags.length > 0, "the unlicensed-data tiny model is flagged");
    for (const flag of assessment.flags) assert.ok(text.includes(flag.message), flag.code);
    // A component opens to say why, from which source.
    await openness.locator(".mof-cell[data-component='model-parameters-final'] summary").click();
    assert.match(
      (await openness.locator(".mof-cell[data-component='model-parameters-final'] dl").textContent()) ?? "",
      /LicenseApache-2\.0.*Needed forClass III and above.*Why/s,
    );
    // Where each fact came from.
    await openness.getByText(/Sources of each fact/).click();
    assert.match((await openness.locator(".fact-sources").textContent()) ?? "", /Architecturellamagguf/);

    const download = page.waitForEvent("download");
    await card.getByRole("button", { name: "Download the AI bill of materials of tiny:latest" }).click();
    const file = await (await download).path();
    const bom = JSON.parse(await readFile(file, "utf8")) as { bomFormat: string; specVersion: string };
    assert.equal(bom.bomFormat, "CycloneDX");
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test("a model refused by the serving policy shows each failed rule and cannot be chatted with", async () => {
    const { page, errors } = await openConsole("/#/models");
    const card = page.getByRole("article", { name: "closed:latest" });
    await card.waitFor();
    const refusal = card.getByRole("note").filter({ hasText: "Refused" });
    assert.match((await refusal.textContent()) ?? "", /requireOsiApprovedLicense/);
    assert.equal(await card.getByRole("button", { name: /Chat with/ }).count(), 0, "no chat offered");
    assert.equal(
      await page
        .getByRole("article", { name: "tiny:latest" })
        .getByRole("button", { name: /Chat with/ })
        .count(),
      1,
    );
    await screenshot(page, "models-refused");
    // In the chat's picker it is listed, disabled.
    const option = page.locator("#model-select option[value='closed:latest']");
    assert.equal(await option.isDisabled(), true);
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test("an admin imports a GGUF from the Models page with upload progress, then removes it after confirming", async () => {
    const { page, errors } = await openConsole("/#/models");
    await page.getByRole("article", { name: "tiny:latest" }).waitFor();
    const form = page.locator("#model-import");
    await form.waitFor({ state: "visible" });
    await form.getByLabel("GGUF file").setInputFiles(await getTinyModelPath());
    await form.getByLabel("Name", { exact: true }).fill("uploaded-tiny");
    await form.getByRole("button", { name: "Import" }).click();
    await form.getByRole("status").filter({ hasText: "Imported uploaded-tiny:latest." }).waitFor();
    const card = page.getByRole("article", { name: "uploaded-tiny:latest" });
    await card.waitFor();
    assert.equal((await server.store.resolve("uploaded-tiny")).ref, "uploaded-tiny:latest");
    await screenshot(page, "models-imported");

    // Remove asks first: a dismissed confirmation keeps the model, an accepted one removes it.
    page.once("dialog", (dialog) => void dialog.dismiss());
    await card.getByRole("button", { name: "Remove uploaded-tiny:latest" }).click();
    assert.equal(await server.store.has("uploaded-tiny"), true);
    page.once("dialog", (dialog) => void dialog.accept());
    await card.getByRole("button", { name: "Remove uploaded-tiny:latest" }).click();
    await card.waitFor({ state: "detached" });
    assert.equal(await server.store.has("uploaded-tiny"), false);
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test("knowledge: create a base, upload by picker and by drop with license, see each file's status, search", async () => {
    const { page, errors } = await openConsole("/#/knowledge");
    const create = page.locator("#kb-create");
    await create.getByLabel("Name", { exact: true }).fill("handbook");
    await create.getByLabel("Description (optional)").fill("Staff handbook");
    await create.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { name: "handbook", level: 2 }).waitFor();

    // The picker: a good file and one that cannot be parsed, in one batch.
    await page.getByLabel("Choose files").setInputFiles([
      {
        name: "leave.md",
        mimeType: "text/markdown",
        buffer: Buffer.from("# Parental leave\n\nParental leave lasts sixteen weeks, paid in full.\n"),
      },
      { name: "broken.pdf", mimeType: "application/pdf", buffer: Buffer.from("not a pdf at all") },
    ]);
    await page.getByLabel(/License/).fill("CC-BY-4.0");
    await page.getByLabel("Attribution").fill("HR team");
    await page.getByRole("button", { name: "Upload" }).click();
    const results = page.getByRole("list", { name: "Upload results" });
    await results.locator("li").nth(1).waitFor();
    assert.equal(
      await page.locator("#kb-progress").evaluate((bar) => (bar as unknown as { value: number }).value),
      100,
    );
    assert.match((await page.locator("#kb-progress-text").textContent()) ?? "", /Done: 1 of 2 files/);
    assert.match((await results.locator("li[data-status='added']").textContent()) ?? "", /leave\.md/);
    assert.match(
      (await results.locator("li[data-status='failed']").textContent()) ?? "",
      /broken\.pdf.*pdf/is,
    );
    const documents = page.getByRole("region", { name: "Documents" });
    await documents.getByText("Parental leave").waitFor();
    assert.match((await documents.textContent()) ?? "", /CC-BY-4\.0\s*HR team/);

    // Drag and drop: a real drop event carrying a file.
    const transfer = await page.evaluateHandle(() => {
      const page = globalThis as unknown as PageGlobals & {
        DataTransfer: new () => { items: { add(file: unknown): void } };
        File: new (parts: string[], name: string, options: object) => unknown;
      };
      const data = new page.DataTransfer();
      data.items.add(
        new page.File(["Bicycles may be parked in the courtyard.\n"], "bikes.txt", { type: "text/plain" }),
      );
      return data;
    });
    await page.locator("#drop-zone").dispatchEvent("drop", { dataTransfer: transfer });
    assert.match((await page.locator("#kb-file-summary").textContent()) ?? "", /1 file chosen.*bikes\.txt/);
    await page.getByRole("button", { name: "Upload" }).click();
    await results.locator("li[data-status='added']", { hasText: "bikes.txt" }).waitFor();
    await documents.getByText("bikes.txt").waitFor();
    await screenshot(page, "knowledge");

    await page.getByLabel("Search this knowledge base").fill("how long is parental leave");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    const hits = page.getByRole("list", { name: "Search results" }).locator(".search-hit");
    await hits.first().waitFor();
    assert.match(
      (await hits.first().textContent()) ?? "",
      /#1.*Parental leave.*sixteen weeks.*CC-BY-4\.0 · HR team/s,
    );
    assert.match((await hits.first().locator(".hit-score").textContent()) ?? "", /score \d/);
    await screenshot(page, "knowledge-search");
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test("a grounded answer shows its sources with license and attribution, and [n] links to its source", async () => {
    const { page, errors } = await openConsole("/?max_tokens=8");
    // The knowledge base of the previous test, as an assistant of its own.
    const option = page.locator("#model-select option[value='kb:handbook']");
    await option.waitFor({ state: "attached" });
    await page.getByLabel("Model", { exact: true }).selectOption("kb:handbook");
    await sendMessage(page, "How long is parental leave?");
    const answer = page.locator(".message-assistant").last();
    await answer.and(page.locator("[data-state='done']")).waitFor({ timeout: 60_000 });
    const sources = answer.getByRole("region", { name: "Sources" });
    const first = sources.locator("li").first();
    assert.match(
      (await first.textContent()) ?? "",
      /Parental leave.*License: CC-BY-4\.0 · HR team · handbook/s,
    );
    await screenshot(page, "chat-grounded");

    // A model that cites: the real UI path with a scripted stream (a tiny random model does not cite).
    const chunks = [
      {
        choices: [],
        sources: [
          {
            index: 1,
            title: "Leave policy",
            location: "leave.md · Leave",
            text: "Sixteen weeks.",
            score: 0.5,
            license: "CC-BY-4.0",
            attribution: "HR team",
            knowledge_base: "handbook",
            document_id: 1,
          },
        ],
        excluded_sources: [{ title: "Secret memo", license: "LicenseRef-internal" }],
      },
      { choices: [{ index: 0, delta: { content: "Leave lasts sixteen weeks [1]. Not <b>[2]</b>." } }] },
    ];
    await page.route("**/v1/chat/completions", (route) =>
      route.fulfill({
        status: 200,
        contentType: "text/event-stream",
        body: `${chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join("")}data: [DONE]\n\n`,
      }),
    );
    await sendMessage(page, "And with a citation?");
    const cited = page.locator(".message-assistant").last();
    await cited.and(page.locator("[data-state='done']")).waitFor();
    const link = cited.locator("a.citation");
    assert.equal(await link.count(), 1, "only [1] names a source");
    assert.equal(await link.textContent(), "[1]");
    await link.click();
    const target = cited.getByRole("region", { name: "Sources" }).locator("li").first();
    assert.equal(
      await target.evaluate((item) => item === (globalThis as unknown as PageGlobals).document.activeElement),
      true,
    );
    assert.match(
      (await cited.locator(".excluded-sources").textContent()) ?? "",
      /Secret memo \(LicenseRef-internal\)/,
    );
    assert.match(
      await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash),
      /^(#\/chat)?$/,
    );
    await screenshot(page, "chat-citation");
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test("a request waiting for the model shows its queue position until the first token", async () => {
    // The server runs one request at a time: a long one in the background makes the console's wait.
    // The page is opened first: the blocker's 1800 tokens take ~2 s on a quiet machine, and loading
    // the console in a fresh browser context can take as long (CI once saw the blocker end first).
    const { page, errors } = await openConsole("/?max_tokens=4");
    const blocker = new AbortController();
    const background = await server.client.chat.completions.create(
      {
        model: "tiny:latest",
        messages: [{ role: "user", content: "Go on." }],
        max_tokens: 1800,
        temperature: 0,
        stream: true,
        ...endless, // the random-weight model could otherwise end before the console's request waits
      },
      { signal: blocker.signal },
    );
    const iterator = background[Symbol.asyncIterator]();
    await iterator.next(); // it is running
    await sendMessage(page, "Am I queued?");
    const answer = page.locator(".message-assistant").last();
    await answer.locator(".message-meta", { hasText: /Queued — position 1/ }).waitFor();
    await screenshot(page, "chat-queued");
    blocker.abort();
    await iterator.return?.();
    await answer.and(page.locator("[data-state='done']")).waitFor({ timeout: 60_000 });
    assert.doesNotMatch((await answer.locator(".message-meta").textContent()) ?? "", /Queued/);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
});

describe("web console with API keys in Chromium", () => {
  /** A server of its own: once keys exist it refuses every request without one. */
  let keyed: TestServer;
  let adminKey = "";
  let memberKey = "";

  before(async () => {
    keyed = await startTestServer({ "tiny:latest": await getTinyModelPath() });
  });

  after(async () => {
    await keyed?.shutdown();
  });

  /** Opens the console of the keyed server, signed in with `key` (stored before the page loads). */
  async function openSignedIn(key: string, pathAndQuery = "/") {
    const opened = await openConsole("/", undefined, keyed);
    await opened.page.evaluate((value) => {
      (
        globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }
      ).localStorage.setItem("ostrom.apiKey", value);
    }, key);
    // A change of hash alone is no new page load: reload, so the console starts with the key.
    await opened.page.goto(`${keyed.url}${pathAndQuery}`);
    await opened.page.reload();
    return opened;
  }

  test("operations: an admin creates an organization, a team and keys (each shown once)", async () => {
    // No keys yet: the server is open to this machine, as its local admin.
    const { page } = await openConsole("/#/operations", undefined, keyed);
    await page.getByText("Open server (no keys yet) · admin").waitFor();
    const tenants = page.locator("#org-create");
    await tenants.getByLabel("Organization").fill("Acme");
    await tenants.getByLabel("Weight").fill("2");
    await tenants.getByRole("button", { name: "Add organization" }).click();
    const acme = page.getByRole("article", { name: "Organization Acme" });
    await acme.waitFor();
    assert.match((await acme.textContent()) ?? "", /weight 2/);
    await acme.getByLabel("Team").fill("Research");
    await acme.getByRole("button", { name: "Add team to Acme" }).click();
    await acme.getByText("Research").waitFor();

    // Quotas: edit the organization's tokens per minute.
    await acme.getByText("Edit weight and quotas").first().click();
    await acme.getByLabel("Tokens / minute").first().fill("5000");
    await acme.getByRole("button", { name: "Save" }).first().click();
    await page
      .getByRole("article", { name: "Organization Acme" })
      .getByText(/tokens \/ minute 5\.0k/)
      .waitFor();

    const keyForm = page.locator("#key-create");
    /** @returns the secret the page shows once */
    const createKey = async (name: string, role: "admin" | "member") => {
      await keyForm.getByLabel("Name").fill(name);
      await keyForm.getByLabel("Team").selectOption({ label: "Research" });
      await keyForm.getByLabel("Role").selectOption(role);
      await keyForm.getByRole("button", { name: "Create key" }).click();
      const secret = page.locator("#new-key-secret");
      await secret.waitFor();
      await page.getByText(`The key “${name}” is shown only this once.`).waitFor();
      const value = (await secret.textContent()) ?? "";
      if (name === "alice") await page.getByText(/this console has signed in with this one/).waitFor();
      await page.getByRole("button", { name: "Done" }).click();
      return value;
    };
    adminKey = await createKey("alice", "admin");
    // The first admin key closed the open server: the console signed in with it and carries on.
    await page.getByText("Signed in as alice · admin · acme / research").waitFor();
    await screenshot(page, "operations-keys");
    memberKey = await createKey("bob", "member");
    assert.match(adminKey, /^osk_/);
    assert.match(memberKey, /^osk_/);
    const keys = page.getByRole("region", { name: "Key list" });
    await keys.getByText("bob").waitFor();
    assert.ok(!((await keys.textContent()) ?? "").includes(adminKey.slice(-20)), "the secret is not listed");
    await page.context().close();
  });

  test("without a key the console asks for one; signed in, it shows who, and sends the key", async () => {
    const { page } = await openConsole("/", undefined, keyed);
    const dialog = page.getByRole("dialog", { name: "Sign in" });
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? "", /needs an API key/);
    await dialog.getByLabel("Key", { exact: true }).fill(adminKey);
    await dialog.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("Signed in as alice · admin · acme / research").waitFor();
    const request = page.waitForRequest("**/v1/models");
    await page.getByRole("link", { name: "Models" }).click();
    await page.getByRole("button", { name: "Refresh" }).click();
    assert.equal((await request).headers().authorization, `Bearer ${adminKey}`);
    await screenshot(page, "signed-in");

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("dialog", { name: "Sign in" }).waitFor();
    await page.context().close();
  });

  test("the operations view shows the live queue, and revokes a key after a confirmation", async () => {
    const { page } = await openSignedIn(adminKey, "/#/operations");
    await page.getByRole("heading", { name: /Queue/ }).waitFor();
    await page.locator("#queue-updated", { hasText: /updated/ }).waitFor();
    const keys = page.getByRole("region", { name: "Key list" });
    await keys.getByText("bob").waitFor();
    page.once("dialog", (dialog) => void dialog.accept());
    await keys.getByRole("button", { name: "Revoke key bob" }).click();
    await keys.locator("tr[data-revoked='true']", { hasText: "bob" }).waitFor();
    const refused = await fetch(`${keyed.url}/v1/models`, {
      headers: { authorization: `Bearer ${memberKey}` },
    });
    assert.equal(refused.status, 401);
    await screenshot(page, "operations");
    await page.context().close();
  });

  test("usage is plotted over time, and members see only their own and no operations", async () => {
    // Some usage to plot, as alice.
    const alice = { authorization: `Bearer ${adminKey}`, "content-type": "application/json" };
    const answered = await fetch(`${keyed.url}/v1/chat/completions`, {
      method: "POST",
      headers: alice,
      body: JSON.stringify({
        model: "tiny:latest",
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 4,
      }),
    });
    assert.equal(answered.status, 200);
    const { page } = await openSignedIn(adminKey, "/#/usage");
    const charts = page.locator("#usage-charts");
    await charts.locator("figure svg[role='img']").first().waitFor();
    const captions = await charts.locator("figcaption").allTextContents();
    assert.deepEqual(captions, ["Tokens over time", "Latency", "Rejected requests"]);
    assert.match((await page.locator(".usage-totals").textContent()) ?? "", /[1-9]\d* requests/);
    assert.ok(
      (await charts.locator("svg.chart-plot path.line, svg.chart-plot circle").count()) > 0,
      "points are drawn",
    );
    await screenshot(page, "usage");
    await page.context().close();

    // A member key: no Operations link, and the page falls back to their own usage.
    const created = await fetch(`${keyed.url}/v1/admin/keys`, {
      method: "POST",
      headers: alice,
      body: JSON.stringify({ organization: "acme", team: "research", name: "carol", role: "member" }),
    });
    const carol = ((await created.json()) as { key: string }).key;
    const member = await openSignedIn(carol, "/#/operations");
    await member.page.getByText(/Signed in as carol · member/).waitFor();
    assert.equal(await member.page.getByRole("link", { name: "Operations" }).count(), 0);
    await member.page.getByText("Your own usage (key carol).").waitFor();
    assert.equal(await member.page.locator("#operations-page").isVisible(), false);
    await member.page.context().close();
  });
});
