// The operator page: sign-in, then four views over the UI's guarded /api.
import { api, current, onSessionChange, signIn, signOut } from "./api.js";
import { drawMap, loadWorld } from "./map.js";

const $ = (sel) => document.querySelector(sel);
let timer = null;
let view = "map";

function text(tag, content, cls) {
  const el = document.createElement(tag);
  el.textContent = content;
  if (cls) el.className = cls;
  return el;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (c instanceof Node) td.append(c); else td.textContent = String(c ?? "");
    tr.append(td);
  }
  return tr;
}

const SOURCE_NAMES = { client: "client stream", internal: "internal stream", gold: "gold insight" };

async function showMap() {
  await loadWorld();
  const data = await api("/api/telemetry");
  $("#map-count").textContent = String(data.count);
  for (const [source, info] of Object.entries(data.sources)) {
    const count = $(`#count-${source}`);
    if (!count) continue;
    count.textContent = String(data.counts[source] ?? 0);
    $(`#state-${source}`).textContent = info.error ? `(${info.state}: ${info.error})` : `(${info.state})`;
  }
  drawMap($("#map"), data.points);
  // The newest three points of each source (stream points come oldest first, gold newest first).
  const newest = (source) => data.points.filter((p) => p.source === source);
  const shown = [...newest("client").slice(-3).reverse(), ...newest("internal").slice(-3).reverse(), ...newest("gold").slice(0, 3)];
  $("#latest tbody").replaceChildren(
    ...shown.map((p) => row([
      text("span", SOURCE_NAMES[p.source] || p.source, `src-${p.source}`),
      p.device_id, p.lat.toFixed(4), p.lon.toFixed(4), p.run_id || "", p.ts || "",
    ])),
  );
}

function endpoint(n) {
  const cell = document.createElement("span");
  cell.append(text("span", n.kind, "kind"), text("span", n.name));
  return cell;
}

function stateOf(n) {
  return text("span", n.state, n.ok === true ? "ok" : n.ok === false ? "down" : "unknown");
}

async function showMappings() {
  const data = await api("/api/mappings");
  const described = new Set(); // a node's detail is shown once, where it first appears
  const details = (...nodes) => nodes.filter((n) => n.detail && !described.has(n.name) && described.add(n.name)).map((n) => n.detail);
  $("#mappings tbody").replaceChildren(
    ...data.links.map((l) => {
      const tr = row([endpoint(l.source), stateOf(l.source), text("span", "→", "arrow"),
        endpoint(l.destination), stateOf(l.destination), details(l.source, l.destination).join(" · ")]);
      tr.lastChild.className = "detail";
      tr.dataset.source = l.source.name;
      tr.dataset.destination = l.destination.name;
      return tr;
    }),
  );
  $("#mappings-error").textContent = Object.values(data.errors || {}).join("; ");
}

async function showWorkflows() {
  const select = $("#workflow-select");
  if (!select.options.length) {
    const list = await api("/api/workflows");
    for (const w of list.workflows || list) {
      // curation (vibranium, dissemination) is the operator's: agent-core refuses it to the UI
      const label = w.requires === "curate" ? `${w.name} (curation: operator only)` : w.name;
      select.append(new Option(label, w.name));
    }
  }
}

async function follow(runId) {
  const box = $("#run");
  for (;;) {
    const run = await api(`/api/workflows/runs/${encodeURIComponent(runId)}`);
    box.replaceChildren(text("h3", `${run.workflow || run.name} · ${run.status}`));
    for (const s of run.steps || []) box.append(text("div", `${s.status.padEnd(10)} ${s.id}`, "step"));
    if (run.status !== "running" && run.status !== "pending") {
      box.append(text("pre", JSON.stringify(run.result ?? run.error, null, 2)));
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function showLake() {
  const inv = await api("/api/lake");
  const body = $("#tiers tbody");
  body.replaceChildren(...(inv.tiers || []).map((t) => row([t.tier, t.bucket, t.objects, t.bytes])));
  const vib = await api("/api/vibranium");
  $("#vibranium").replaceChildren(
    ...vib.insights.map((i) => {
      const doc = i.content || {};
      const insight = doc.insight || {};
      const item = text("li", "");
      item.append(
        text("strong", doc.insight_id || i.key),
        text("span", ` · confidence ${doc.confidence ?? "?"} · ${insight.device_id || ""} `),
        text("span", insight.summary || "", "muted"),
        text("span", ` (${i.modified || ""})`, "muted"),
      );
      item.dataset.key = i.key;
      return item;
    }),
  );
  $("#vibranium-count").textContent = String(vib.count);
}

async function showHealth() {
  const h = await api("/api/health");
  $("#health tbody").replaceChildren(
    ...h.services.map((s) => row([s.service, text("span", s.status, s.ok ? "ok" : "down"), `${s.latency_ms} ms`])),
  );
}

const VIEWS = { map: showMap, mappings: showMappings, workflows: showWorkflows, lake: showLake, health: showHealth };
const LIVE = new Set(["map", "mappings", "health"]);

let busy = false;
let pending = false; // a refresh asked for while one was loading: run it when that one ends

async function refresh() {
  if (!current()) return;
  if (busy) { pending = true; return; }
  busy = true;
  try {
    await VIEWS[view]();
    $("#view-error").textContent = "";
  } catch (err) {
    if (current()) $("#view-error").textContent = `${view}: ${err.message}`;
  } finally {
    busy = false;
    // A view chosen while the last one was loading (the Workflows list loads only then).
    if (pending) { pending = false; refresh(); }
  }
}

function select(name) {
  view = name;
  document.querySelectorAll(".view").forEach((s) => { s.hidden = s.id !== `view-${name}`; });
  document.querySelectorAll("#nav button").forEach((b) => b.classList.toggle("active", b.dataset.view === name));
  refresh();
}

onSessionChange((session, reason) => {
  $("#signin").hidden = !!session;
  $("#nav").hidden = !session;
  $("#session").hidden = !session;
  clearInterval(timer);
  if (session) {
    $("#who").textContent = session.user;
    $("#expiry").textContent = session.expiresAt.toLocaleTimeString();
    $("#expiry").dateTime = session.expiresAt.toISOString();
    select(view);
    timer = setInterval(() => { if (LIVE.has(view)) refresh(); }, 3000);
  } else {
    document.querySelectorAll(".view").forEach((s) => { s.hidden = true; });
    $("#signin-error").textContent = reason || "";
  }
});

async function start() {
  const config = await (await fetch("/config.json")).json();
  document.body.classList.add(`map-${config.map_style}`);
  $("#signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    try { await signIn(String(form.get("user")), Number(form.get("ttl"))); }
    catch (err) { $("#signin-error").textContent = err.message; }
  });
  $("#signout").addEventListener("click", () => signOut("signed out"));
  document.querySelectorAll("#nav button").forEach((b) => b.addEventListener("click", () => select(b.dataset.view)));
  $("#launch-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    $("#launch-error").textContent = "";
    try {
      const run = await api("/api/workflows/runs", {
        method: "POST",
        body: JSON.stringify({ workflow: form.get("workflow"), input: JSON.parse(String(form.get("input") || "{}")) }),
      });
      await follow(run.id || run.run_id);
    } catch (err) { $("#launch-error").textContent = err.message; }
  });
}

start();
