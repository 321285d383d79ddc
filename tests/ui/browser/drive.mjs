// One headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for tests.
//
//   node drive.mjs            serve: one JSON command per stdin line, one JSON answer per line
//
// A command is {"op": ..., "page": "main", ...args}; the answer is {"ok": true, "value": ...}
// or {"ok": false, "error": "..."}. Pages are named; each "open" gets a fresh context (its
// own cookies, storage and cache). Waits have no time limit: the test runner's timeout is
// the only clock. Ends (closing the browser) when stdin closes.
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ARGS });
const pages = new Map(); // name -> {context, page, errors}

async function open(name, viewport = { width: 1280, height: 900 }) {
  await close(name);
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const entry = { context, page, errors: [] };
  page.on("pageerror", (e) => entry.errors.push(`pageerror: ${e}`));
  page.on("console", (m) => { if (m.type() === "error") entry.errors.push(`console: ${m.text()} ${m.location().url}`); });
  pages.set(name, entry);
  return entry;
}

async function close(name) {
  const entry = pages.get(name);
  if (entry) { pages.delete(name); await entry.context.close(); }
}

// First contentful paint and the bytes of every response of one cold load of `url`.
async function measure(url) {
  const { page } = await open("measure");
  const responses = [];
  page.on("requestfinished", (request) => responses.push(request));
  await page.goto(url, { waitUntil: "load", timeout: 0 });
  await page.waitForLoadState("networkidle", { timeout: 0 });
  await page.waitForFunction(() => performance.getEntriesByName("first-contentful-paint").length > 0, null, { timeout: 0 });
  const paint = await page.evaluate(() => ({
    fcp_ms: performance.getEntriesByName("first-contentful-paint")[0].startTime,
    fp_ms: performance.getEntriesByName("first-paint")[0]?.startTime ?? null,
    dom_content_loaded_ms: performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd,
  }));
  const resources = [];
  for (const request of responses) {
    const sizes = await request.sizes();
    resources.push({
      url: request.url(),
      type: request.resourceType(),
      body: sizes.responseBodySize,
      headers: sizes.responseHeadersSize,
    });
  }
  await close("measure");
  return { ...paint, resources };
}

// "eval" and "wait_for" take the source of a JS function (called in the page with `arg`).
// Made a function here, so playwright calls it (a string would be a mere expression).
function fn(source) {
  const made = new Function(`return (${source});`)();
  if (typeof made !== "function") throw new Error("expression must be the source of a function");
  return made;
}

const OPS = {
  open: ({ page }) => open(page).then(() => null),
  close: ({ page }) => close(page).then(() => null),
  goto: ({ p, url }) => p.goto(url, { waitUntil: "load", timeout: 0 }).then(() => null),
  fill: ({ p, selector, value }) => p.fill(selector, String(value), { timeout: 0 }).then(() => null),
  click: ({ p, selector }) => p.click(selector, { timeout: 0 }).then(() => null),
  select: ({ p, selector, value }) => p.selectOption(selector, value, { timeout: 0 }).then(() => null),
  wait: ({ p, selector, state = "visible" }) => p.waitForSelector(selector, { state, timeout: 0 }).then(() => null),
  wait_for: ({ p, expression, arg = null }) =>
    p.waitForFunction(fn(expression), arg, { timeout: 0, polling: 200 }).then((h) => h.jsonValue()),
  text: ({ p, selector }) => p.textContent(selector, { timeout: 0 }),
  texts: ({ p, selector }) => p.$$eval(selector, (els) => els.map((e) => e.textContent)),
  visible: ({ p, selector }) => p.isVisible(selector),
  eval: ({ p, expression, arg = null }) => p.evaluate(fn(expression), arg),
  screenshot: ({ p, path, full_page = true }) => p.screenshot({ path, fullPage: full_page }).then(() => path),
  errors: ({ entry }) => entry.errors.splice(0),
  set_content: ({ p, html }) => p.setContent(html, { waitUntil: "load", timeout: 0 }).then(() => null),
  measure: ({ url }) => measure(url),
};

// The log (NEXUS_UI_DRIVER_LOG): each command, its outcome, and during a wait what the page shows.
const LOG = process.env.NEXUS_UI_DRIVER_LOG;
function log(text) {
  if (LOG) appendFileSync(LOG, `${new Date().toISOString()} ${text}\n`);
}

async function showing(entry) {
  try {
    return await entry.page.evaluate(() => (document.querySelector("main") || document.body).innerText.slice(0, 800));
  } catch (err) { return `(unreadable: ${err})`; }
}

await open("main");
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  let watcher = null;
  try {
    const command = JSON.parse(line);
    const name = command.page || "main";
    const entry = pages.get(name);
    const op = OPS[command.op];
    log(`> ${line.slice(0, 400)}`);
    if (!op) throw new Error(`unknown op ${command.op}`);
    if (!entry && !["open", "close", "measure"].includes(command.op)) throw new Error(`no page ${name}`);
    if (entry && command.op.startsWith("wait")) {
      watcher = setInterval(async () => log(`  waiting; the page shows: ${JSON.stringify(await showing(entry))}`), 10000);
    }
    const value = await op({ ...command, page: name, entry, p: entry?.page });
    answer = { ok: true, value: value ?? null };
  } catch (err) {
    answer = { ok: false, error: String(err && err.stack ? err.stack : err) };
  } finally {
    clearInterval(watcher);
  }
  log(`< ${answer.ok ? "ok" : answer.error.split("\n")[0]}`);
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
await browser.close();
