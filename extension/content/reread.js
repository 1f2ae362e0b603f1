/*
 * Telling screen readers to read the page's names afresh after the extension wrote some.
 *
 * Why: a screen reader may keep what it learned of an image before its name arrived. Orca 43
 * caches each object's attributes, among them Chromium's role description "Unlabeled image"
 * for an image without a name, and drops that cache when the page's tree gains or loses a
 * child, not when a name changes. Without this, an image read before its description came is
 * later heard as "A kitten asleep in a basket Unlabeled image." (tests/screenreader,
 * "Pitfalls"). So, once the extension's writes settle, it adds one empty element to a node of
 * its own and removes it a little later: two tree changes, nothing to hear, nothing the page's
 * scripts or styles can reach (a closed shadow root, as the live region's).
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.reread) return;

  const SETTLE_MS = 50; // one signal for a batch of writes
  const HOLD_MS = 100; // the element must live past a rendering frame, or no tree change is seen

  let root = null;
  let timer = 0;

  function ensureRoot() {
    if (root && root.host.isConnected) return root;
    const host = document.createElement("altlens-reread");
    host.style.cssText = "position:fixed!important;width:1px!important;height:1px!important;" +
      "overflow:hidden!important;clip-path:inset(50%)!important;";
    root = host.attachShadow({ mode: "closed" });
    (document.body || document.documentElement).appendChild(host);
    return root;
  }

  function signal() {
    timer = 0;
    const marker = document.createElement("div");
    // An explicit role keeps it in the accessibility tree, so its coming and going is a tree change.
    marker.setAttribute("role", "group");
    ensureRoot().appendChild(marker);
    setTimeout(() => marker.remove(), HOLD_MS);
  }

  /** Ask for one fresh read once the writes of this moment are done. */
  function soon() {
    if (!timer) timer = setTimeout(signal, SETTLE_MS);
  }

  ns.reread = { soon };
})();
