/*
 * A polite live region in the page, inside a closed shadow root so the page's
 * styles and scripts cannot reach or restyle it. Text only (textContent).
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.announce) return;

  let region = null;
  let clearTimer = 0;

  function ensureRegion() {
    if (region && region.isConnected) return region;
    const host = document.createElement("altlens-announcer");
    host.style.cssText = "position:fixed!important;width:1px!important;height:1px!important;" +
      "overflow:hidden!important;clip-path:inset(50%)!important;white-space:nowrap!important;";
    const root = host.attachShadow({ mode: "closed" });
    region = document.createElement("div");
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    root.appendChild(region);
    (document.body || document.documentElement).appendChild(host);
    return region;
  }

  function say(message) {
    const el = ensureRegion();
    el.textContent = "";
    // A fresh text node after a tick makes screen readers announce repeats too.
    setTimeout(() => {
      el.textContent = message;
      clearTimeout(clearTimer);
      clearTimer = setTimeout(() => { el.textContent = ""; }, 10000);
    }, 50);
  }

  /** Announce per the user's mode: off, one summary per batch, or each description. */
  function results(mode, applied) {
    if (mode === "off" || !applied.length) return;
    if (mode === "each") {
      say(applied.map((a) => "Image: " + a).join(". "));
    } else {
      say(`altlens described ${applied.length} image${applied.length === 1 ? "" : "s"}.`);
    }
  }

  ns.announce = { say, results };
})();
