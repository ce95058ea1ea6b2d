// ShareGuard companion, page side (MAIN world, document_start).
//
// Runs in the page's own JavaScript world, before the page's scripts, so it
// can see the page start and stop a display capture (getDisplayMedia). It
// reads nothing of the page: only the capture's surface kind and the random
// capture handle of the tab being shared. Facts go to the isolated-world
// relay (capture-relay.js) through a private MessagePort handed over once,
// so a page script cannot post facts in the companion's name.
(() => {
  "use strict";
  const proto = globalThis.MediaDevices && MediaDevices.prototype;
  if (!proto || typeof proto.getDisplayMedia !== "function") {
    return; // not a secure context, or a browser without display capture
  }
  const post = MessagePort.prototype.postMessage;
  const channel = new MessageChannel();
  const port = channel.port1;
  window.postMessage({ shareguardCompanion: "hello" }, "*", [channel.port2]);
  const send = (fact) => { try { post.call(port, fact); } catch (e) { /* relay gone */ } };

  // A random handle marks this tab, so that when another tab captures it the
  // capturer's track says which tab it is (Chromium's Capture Handle). The
  // origin is not exposed: the capturing page learns only a random string.
  const handle = "sg:" + crypto.randomUUID();
  if (window.top === window && typeof proto.setCaptureHandleConfig === "function") {
    try {
      navigator.mediaDevices.setCaptureHandleConfig({ handle, exposeOrigin: false, permittedOrigins: ["*"] });
      send({ kind: "handle", handle });
    } catch (e) { /* a page that set its own handle keeps it */ }
  }

  const original = proto.getDisplayMedia;
  let counter = 0;
  const live = new Map();

  function sharedHandle(track) {
    try {
      const got = typeof track.getCaptureHandle === "function" ? track.getCaptureHandle() : null;
      return got && typeof got.handle === "string" && got.handle.startsWith("sg:") ? got.handle : null;
    } catch (e) {
      return null;
    }
  }

  function watch(track) {
    const id = ++counter;
    let settings = {};
    try { settings = track.getSettings() || {}; } catch (e) { /* keep empty */ }
    const fact = { kind: "capture", id, state: "started", surface: String(settings.displaySurface || "unknown"),
                   shared: sharedHandle(track) };
    live.set(id, track);
    send(fact);
    let over = false;
    const stopped = () => {
      if (over) return;
      over = true;
      live.delete(id);
      send({ kind: "capture", id, state: "stopped" });
    };
    track.addEventListener("ended", stopped);
    // MediaStreamTrack.stop() fires no "ended": wrap this track's stop.
    const stop = track.stop;
    track.stop = function () { const r = stop.apply(this, arguments); stopped(); return r; };
    // The person may switch the shared tab, or the shared tab may navigate.
    track.addEventListener("capturehandlechange", () => {
      if (!over) send({ kind: "capture", id, state: "changed", surface: fact.surface, shared: sharedHandle(track) });
    });
    // Safety net for ends no event reports (clones, browser UI).
    const poll = setInterval(() => { if (track.readyState === "ended") stopped(); if (over) clearInterval(poll); }, 1000);
  }

  const wrapped = {
    getDisplayMedia() {
      const result = original.apply(this, arguments);
      return result.then((stream) => {
        try { stream.getVideoTracks().forEach(watch); } catch (e) { /* never break the page */ }
        return stream;
      });
    },
  }.getDisplayMedia;
  Object.defineProperty(proto, "getDisplayMedia", { value: wrapped, writable: true, configurable: true });

  // Leaving the page ends its captures.
  window.addEventListener("pagehide", () => {
    for (const id of live.keys()) send({ kind: "capture", id, state: "stopped" });
    live.clear();
  });
})();
