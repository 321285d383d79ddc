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

async function showMap() {
  await loadWorld();
  const data = await api("/api/telemetry");
  $("#map-count").textContent = String(data.count);
  drawMap($("#map"), data.points);
}

async function showWorkflows() {
  const select = $("#workflow-select");
  if (!select.options.length) {
    const list = await api("/api/workflows");
    for (const w of list.workflows || list) select.append(new Option(w.name, w.name));
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
    ...vib.insights.map((i) => text("li", `${i.modified || ""} ${i.key}: ${JSON.stringify(i.content).slice(0, 240)}`)),
  );
}

async function showHealth() {
  const h = await api("/api/health");
  $("#health tbody").replaceChildren(
    ...h.services.map((s) => row([s.service, text("span", s.status, s.ok ? "ok" : "down"), `${s.latency_ms} ms`])),
  );
}

const VIEWS = { map: showMap, workflows: showWorkflows, lake: showLake, health: showHealth };

async function refresh() {
  if (!current()) return;
  try { await VIEWS[view](); } catch (err) { console.warn(err); }
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
    timer = setInterval(() => { if (view === "map" || view === "health") refresh(); }, 5000);
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
