// ShareGuard companion, relay (isolated world, document_start).
//
// Takes the private port capture-main.js hands over (the first one only) and
// forwards its capture facts to the background script. Only the known fact
// shapes pass; nothing from the page itself is read.
(() => {
  "use strict";
  const api = globalThis.browser || globalThis.chrome;
  let taken = false;
  const SURFACES = new Set(["monitor", "window", "browser", "unknown"]);

  function clean(fact) {
    if (!fact || typeof fact !== "object") return null;
    if (fact.kind === "handle" && typeof fact.handle === "string" && fact.handle.length <= 64) {
      return { kind: "handle", handle: fact.handle };
    }
    if (fact.kind === "capture" && Number.isInteger(fact.id) && ["started", "stopped", "changed"].includes(fact.state)) {
      const out = { kind: "capture", id: fact.id, state: fact.state };
      if (fact.state !== "stopped") {
        out.surface = SURFACES.has(fact.surface) ? fact.surface : "unknown";
        out.shared = typeof fact.shared === "string" && fact.shared.length <= 64 ? fact.shared : null;
      }
      return out;
    }
    return null;
  }

  window.addEventListener("message", (event) => {
    if (taken || event.source !== window || !event.data || event.data.shareguardCompanion !== "hello") return;
    const port = event.ports && event.ports[0];
    if (!port) return;
    taken = true;
    port.onmessage = (m) => {
      const fact = clean(m.data);
      if (!fact) return;
      try {
        const sent = api.runtime.sendMessage({ shareguard: fact });
        if (sent && sent.catch) sent.catch(() => {});
      } catch (e) { /* extension reloaded: nothing to tell */ }
    };
  }, true);
})();
