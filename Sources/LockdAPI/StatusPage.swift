/// `GET /`: a status page for people — held locks, their holders, fences,
/// remaining TTL and waiters — kept live from `GET /events`. One
/// self-contained HTML document (inline style and script, no external
/// assets, works offline). It reads the API with `fetch`, so it can send the
/// bearer token typed into it (kept in the tab's session storage only).
enum StatusPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lockd</title>
<style>
  :root { --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --muted: #667085; --line: #e4e7ec; --accent: #2f6fed; --ok: #12805c; --warn: #b54708; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--ink); }
  header { display: flex; align-items: center; gap: 16px; padding: 14px 24px; background: var(--ink); color: #fff; }
  header h1 { margin: 0; font-size: 18px; letter-spacing: .02em; }
  header .state { margin-left: auto; font-size: 13px; display: flex; align-items: center; gap: 8px; }
  .dot { width: 9px; height: 9px; border-radius: 50%; background: #999; display: inline-block; }
  .dot.live { background: #32d583; } .dot.down { background: #f97066; }
  main { max-width: 1100px; margin: 20px auto; padding: 0 20px; }
  form { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
  label { display: flex; flex-direction: column; gap: 4px; font-size: 12px; color: var(--muted); }
  input { font: inherit; padding: 7px 10px; border: 1px solid var(--line); border-radius: 6px; min-width: 220px; }
  button { font: inherit; padding: 7px 16px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
  .summary { margin: 16px 2px 8px; color: var(--muted); }
  table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
  th, td { text-align: left; padding: 9px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); background: #fafbfc; }
  tr:last-child td { border-bottom: 0; }
  td.name { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-weight: 600; overflow-wrap: anywhere; max-width: 280px; }
  .holder { display: grid; grid-template-columns: minmax(140px, 1.2fr) minmax(70px, .8fr) 160px 70px; gap: 10px; }
  .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
  .muted { color: var(--muted); }
  .ttl.low { color: var(--warn); font-weight: 600; }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 999px; background: #eef4ff; color: var(--accent); font-size: 12px; }
  .badge.shared { background: #ecfdf3; color: var(--ok); }
  .waiting { font-weight: 600; }
  .empty { padding: 28px; text-align: center; color: var(--muted); }
  #log { margin-top: 18px; font-size: 12px; color: var(--muted); max-height: 160px; overflow: auto; }
</style>
</head>
<body>
<header>
  <h1>lockd</h1>
  <span class="muted" style="color:#c3c8d2">held locks, live</span>
  <span class="state"><span id="dot" class="dot"></span><span id="state">connecting…</span></span>
</header>
<main>
  <form id="filter">
    <label>Name prefix <input id="prefix" placeholder="orders:" autocomplete="off"></label>
    <label>Bearer token (if lockd asks for one) <input id="token" type="password" autocomplete="off"></label>
    <button type="submit">Show</button>
  </form>
  <div class="summary" id="summary"></div>
  <table>
    <thead><tr><th>Lock</th><th>Holders: owner · client · fence · expires in</th><th>Mode</th><th>Waiting</th></tr></thead>
    <tbody id="locks"><tr><td colspan="4" class="empty">Loading…</td></tr></tbody>
  </table>
  <div id="log"></div>
</main>
<script>
"use strict";
const locks = new Map();          // name -> {name, limit, waiting, holders: [{fence, owner, client, mode, expiresAt}]}
let stream = null;                // the AbortController of the open event stream
let generation = 0;
const $ = (id) => document.getElementById(id);

function headers() {
  const token = $("token").value.trim();
  return token ? { "Authorization": "Bearer " + token } : {};
}

function setState(text, kind) {
  $("state").textContent = text;
  $("dot").className = "dot" + (kind ? " " + kind : "");
}

function log(text) {
  const line = document.createElement("div");
  line.textContent = new Date().toLocaleTimeString() + "  " + text;
  $("log").prepend(line);
  while ($("log").childElementCount > 50) $("log").lastChild.remove();
}

function fromStatus(status) {
  return {
    name: status.name, limit: status.limit || 1, waiting: status.waiting || 0,
    holders: (status.holders || []).map((h) => ({ fence: h.fence, owner: h.owner, client: h.client, mode: h.mode, expiresAt: Date.parse(h.expires_at) })),
  };
}

async function api(path) {
  const reply = await fetch(path, { headers: headers(), cache: "no-store" });
  if (!reply.ok) {
    let detail = reply.statusText;
    try { detail = (await reply.json()).detail || detail; } catch (_) {}
    throw new Error(reply.status + ": " + detail);
  }
  return reply.json();
}

async function loadAll(prefix) {
  locks.clear();
  let cursor = "";
  do {
    const page = await api("/locks?limit=1000&prefix=" + encodeURIComponent(prefix) + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    for (const status of page.locks) if (status.held) locks.set(status.name, fromStatus(status));
    cursor = page.next_cursor || "";
  } while (cursor);
}

async function refresh(name) {
  try {
    const status = await api("/locks/" + encodeURIComponent(name));
    if (status.held || status.waiting > 0) locks.set(name, fromStatus(status)); else locks.delete(name);
  } catch (error) { log("could not read " + name + ": " + error.message); }
  render();
}

function apply(kind, data) {
  const lock = locks.get(data.name) || { name: data.name, limit: 1, waiting: 0, holders: [] };
  lock.holders = lock.holders.filter((h) => h.fence !== data.fence);
  if (kind === "acquired" || kind === "renewed") {
    lock.holders.push({ fence: data.fence, owner: data.owner, client: data.client, mode: data.mode, expiresAt: Date.parse(data.expires_at) });
  }
  if (lock.holders.length) locks.set(data.name, lock); else locks.delete(data.name);
  log(kind + " " + data.name + " fence " + data.fence + (data.owner ? " (" + data.owner + ")" : ""));
  render();
  // Waiters are not in the events: the lock's status says how many.
  refresh(data.name);
}

function remaining(expiresAt) {
  const ms = expiresAt - Date.now();
  if (!(ms > 0)) return "expiring";
  if (ms < 10000) return (ms / 1000).toFixed(1) + " s";
  if (ms < 120000) return Math.round(ms / 1000) + " s";
  if (ms < 7200000) return Math.round(ms / 60000) + " min";
  return Math.round(ms / 3600000) + " h";
}

function cell(row, content, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  if (content instanceof Node) td.append(content); else td.textContent = content;
  row.append(td);
  return td;
}

function render() {
  const body = $("locks");
  body.replaceChildren();
  const names = [...locks.keys()].sort();
  for (const name of names) {
    const lock = locks.get(name);
    const row = document.createElement("tr");
    cell(row, name, "name");
    const holders = document.createElement("div");
    for (const h of lock.holders.sort((a, b) => a.fence - b.fence)) {
      const line = document.createElement("div");
      line.className = "holder";
      const owner = document.createElement("span"); owner.textContent = h.owner || "—"; if (!h.owner) owner.className = "muted";
      const client = document.createElement("span"); client.textContent = h.client || "—"; client.className = "muted";
      const fence = document.createElement("span"); fence.textContent = "#" + h.fence; fence.className = "mono";
      const ttl = document.createElement("span"); ttl.textContent = remaining(h.expiresAt);
      ttl.className = "ttl mono" + (h.expiresAt - Date.now() < 5000 ? " low" : "");
      line.append(owner, client, fence, ttl);
      holders.append(line);
    }
    if (!lock.holders.length) holders.textContent = "free";
    cell(row, holders);
    const mode = document.createElement("span");
    const shared = lock.holders[0] && lock.holders[0].mode === "shared";
    mode.className = "badge" + (shared ? " shared" : "");
    mode.textContent = shared ? "shared" : lock.limit > 1 ? "semaphore ×" + lock.limit : "exclusive";
    cell(row, mode);
    cell(row, String(lock.waiting), lock.waiting ? "waiting" : "muted");
    body.append(row);
  }
  if (!names.length) body.innerHTML = '<tr><td colspan="4" class="empty">No lock is held under this prefix.</td></tr>';
  const holders = names.reduce((n, name) => n + locks.get(name).holders.length, 0);
  $("summary").textContent = names.length + (names.length === 1 ? " lock" : " locks") + " held, " + holders + (holders === 1 ? " holder" : " holders") +
    ($("prefix").value ? " under “" + $("prefix").value + "”" : "");
}

async function openStream(prefix) {
  // A stream left open by a list that failed after it is closed first.
  if (stream) stream.abort();
  stream = new AbortController();
  const reply = await fetch("/events?prefix=" + encodeURIComponent(prefix), { headers: headers(), signal: stream.signal, cache: "no-store" });
  if (!reply.ok) throw new Error(reply.status + " " + reply.statusText);
  return reply;
}

async function watch(reply, mine) {
  setState("live", "live");
  const reader = reply.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  while (mine === generation) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) kind = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) { try { apply(kind, JSON.parse(data)); } catch (error) { log("bad event: " + error.message); } }
    }
  }
}

async function start() {
  const mine = ++generation;
  if (stream) stream.abort();
  const prefix = $("prefix").value.trim();
  sessionStorage.setItem("lockd.token", $("token").value);
  sessionStorage.setItem("lockd.prefix", prefix);
  history.replaceState(null, "", prefix ? "?prefix=" + encodeURIComponent(prefix) : location.pathname);
  while (mine === generation) {
    try {
      setState("connecting…");
      // The stream first: lockd sends its head once the watch is in place,
      // so no change after the list is missed (one before it, read again
      // after it, changes nothing).
      const reply = await openStream(prefix);
      await loadAll(prefix);
      render();
      await watch(reply, mine);
      if (mine === generation) { setState("stream ended; reconnecting", "down"); log("the event stream ended"); }
    } catch (error) {
      if (mine !== generation) return;
      setState(error.message, "down");
      log("error: " + error.message);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

$("filter").addEventListener("submit", (event) => { event.preventDefault(); start(); });
$("token").value = sessionStorage.getItem("lockd.token") || "";
$("prefix").value = new URLSearchParams(location.search).get("prefix") ?? (sessionStorage.getItem("lockd.prefix") || "");
setInterval(() => { if (locks.size) render(); }, 1000);
start();
</script>
</body>
</html>
"""#
}
