// ShareGuard companion, background (Chromium service worker / Firefox event page).
//
// Tells the local ShareGuard agent, through its native-messaging host, what
// each browser window shows: the active tab's address (scheme, host and path:
// no query, no fragment) and title, whether the window is minimized, and the
// display captures pages run, with the tab being shared when it is a tab
// share. It never reads page content, and nothing goes anywhere but the
// native host on this machine (docs/privacy.md).
"use strict";
const api = globalThis.browser || globalThis.chrome;
const HOST = "org.shareguard.companion";
const HEARTBEAT_MS = 10000;  // the agent forgets a browser silent for 30 s
const RETRY_MS = 5000;

let port = null;
let seq = 0;
let pending = null;
const handles = new Map();   // capture handle -> tab id (the tab that set it)
const captures = new Map();  // "tab:frame:id" -> {tab, surface, shared}

function browserName() {
  const ua = navigator.userAgent || "";
  if (/Firefox\//.test(ua)) return "firefox";
  if (/Edg\//.test(ua)) return "edge";
  const brands = (navigator.userAgentData && navigator.userAgentData.brands) || [];
  if (brands.some((b) => b.brand === "Google Chrome")) return "chrome";
  if (brands.some((b) => b.brand === "Microsoft Edge")) return "edge";
  return "chromium";
}

// Only what the agent needs of an address: no credentials, query or fragment.
function address(raw) {
  if (!raw) return "";
  try {
    const u = new URL(raw);
    if (u.protocol === "http:" || u.protocol === "https:") return u.protocol + "//" + u.host + u.pathname;
    return u.protocol;  // about:, chrome:, file: ... say nothing more
  } catch (e) {
    return "";
  }
}

function connect() {
  if (port) return;
  try {
    port = api.runtime.connectNative(HOST);
  } catch (e) {
    port = null;
    setTimeout(connect, RETRY_MS);
    return;
  }
  port.onDisconnect.addListener(() => {
    port = null;
    setTimeout(connect, RETRY_MS);
  });
  port.onMessage.addListener(() => { /* the host only acknowledges */ });
  const manifest = api.runtime.getManifest();
  send({ type: "hello", browser: browserName(), extension: manifest.version });
  schedule("connected");
}

function send(message) {
  if (!port) return;
  try { port.postMessage(message); } catch (e) { port = null; }
}

// Coalesce bursts (a navigation fires several events) into one report.
function schedule(cause) {
  if (pending) { pending.causes.add(cause); return; }
  pending = { causes: new Set([cause]) };
  setTimeout(() => { const p = pending; pending = null; report([...p.causes]); }, 0);
}

async function report(causes) {
  connect();
  let windows = [];
  try {
    windows = await api.windows.getAll({ populate: true, windowTypes: ["normal", "popup", "app"] });
  } catch (e) {
    return;
  }
  const out = [];
  const tabsById = new Map();
  for (const w of windows) {
    for (const t of w.tabs || []) tabsById.set(t.id, { tab: t, window: w });
    const active = (w.tabs || []).find((t) => t.active);
    out.push({ id: w.id, focused: !!w.focused, state: w.state || "normal", incognito: !!w.incognito,
               tab: active ? { id: active.id, url: address(active.url), title: active.title || "" } : null });
  }
  const caps = [];
  const extra = new Map();
  for (const c of captures.values()) {
    const shared = c.shared && handles.has(c.shared) ? handles.get(c.shared) : null;
    caps.push({ tab: c.tab, surface: c.surface, shared_tab: shared });
    // Capturing and shared tabs are reported even when they are in the background.
    for (const id of [c.tab, shared]) {
      const found = id !== null && tabsById.get(id);
      if (found && !found.tab.active) {
        extra.set(id, { id, window: found.window.id, url: address(found.tab.url), title: found.tab.title || "" });
      }
    }
  }
  send({ type: "state", seq: ++seq, causes, windows: out, captures: caps, tabs: [...extra.values()] });
}

api.runtime.onMessage.addListener((message, sender) => {
  const fact = message && message.shareguard;
  const tab = sender && sender.tab && sender.tab.id;
  if (!fact || tab === undefined || tab === null) return;
  if (fact.kind === "handle" && sender.frameId === 0) {
    for (const [h, t] of handles) if (t === tab) handles.delete(h);
    handles.set(fact.handle, tab);
    return;
  }
  if (fact.kind === "capture") {
    const key = tab + ":" + (sender.frameId || 0) + ":" + fact.id;
    if (fact.state === "stopped") {
      captures.delete(key);
      schedule("capture_stopped");
    } else {
      captures.set(key, { tab, surface: fact.surface, shared: fact.shared });
      schedule(fact.state === "started" ? "capture_started" : "capture_changed");
    }
  }
});

api.tabs.onActivated.addListener(() => schedule("tab_switched"));
api.tabs.onUpdated.addListener((id, change) => {
  if (change.url !== undefined || change.title !== undefined || change.status === "complete") schedule("navigated");
});
api.tabs.onRemoved.addListener((id) => {
  for (const [k, c] of captures) if (c.tab === id) captures.delete(k);
  for (const [h, t] of handles) if (t === id) handles.delete(h);
  schedule("tab_closed");
});
api.tabs.onReplaced.addListener(() => schedule("tab_replaced"));
api.windows.onFocusChanged.addListener(() => schedule("window_focus"));
api.windows.onCreated.addListener(() => schedule("window_opened"));
api.windows.onRemoved.addListener(() => schedule("window_closed"));
if (api.windows.onBoundsChanged) api.windows.onBoundsChanged.addListener(() => schedule("window_state"));

setInterval(() => schedule("heartbeat"), HEARTBEAT_MS);
connect();
