/*
 * The content script's loop: find candidates (now and as the page changes),
 * describe them once they come near the viewport, apply, retry later when the
 * backend is away, and undo everything when the site is turned off.
 *
 * Cheap on big pages: one MutationObserver per root, an IntersectionObserver
 * so only images near the viewport are described and its callbacks hand over
 * every box (no layout reads of our own), context read for a batch just as it
 * is sent (not for every near image at once while the page is still loading),
 * batched messages, and every callback guarded so a failure here never
 * reaches the page.
 */
(function () {
  "use strict";
  const ns = globalThis.altlens;
  if (!ns || ns.contentStarted) return;
  ns.contentStarted = true;

  const { browser, settings: settingsLib, detect, context, imageSource, apply, announce } = ns;
  const BATCH = 32; // the backend's batch limit: one message, one backend request
  const FLUSH_DELAY_MS = 120;
  const IN_VIEW_DELAY_MS = 20; // images in view go alone (see flush), so they need not wait for others
  const HIDDEN_RECHECK_MS = 3000;
  const NEAR_PX = 800; // images this close to the viewport are described
  const WATCHED_ATTRS = ["src", "srcset", "alt", "aria-label", "aria-labelledby", "role", "title", "aria-hidden"];

  const frameKey = Math.random().toString(36).slice(2, 10);
  let seq = 0;
  let settings = settingsLib.normalise({});
  let active = false;
  const items = new Map(); // itemId -> item
  let itemOf = new WeakMap(); // element -> item
  const queued = new Set(); // items waiting to be sent
  const hidden = new Set(); // items not rendered now
  const waiting = new Set(); // items waiting for the backend or for settings
  const observers = [];
  let io = null;
  let flushTimer = 0;
  let flushAt = 0;
  let messageOut = false;
  let retryTimer = 0;
  let hiddenTimer = 0;
  let retryDelay = 0;
  let lastContextTarget = null;
  let lastOpen = 0;

  function guard(fn) {
    return function guarded(...args) {
      try {
        const out = fn.apply(this, args);
        if (out && typeof out.catch === "function") out.catch(() => {});
        return out;
      } catch (_) {
        return undefined;
      }
    };
  }

  // ---- discovery -------------------------------------------------------

  /** `notHidden`: the caller knows el is not hidden from assistive technology (detect.candidatesIn). */
  function consider(el, notHidden = false) {
    if (!active) return;
    const existing = itemOf.get(el);
    if (existing && existing.status !== "author") return;
    const need = detect.needsDescription(el, settings.kinds, notHidden);
    if (!need) return;
    const item = existing || { id: `${frameKey}-${++seq}`, el };
    item.kind = need.kind;
    item.reason = need.reason;
    item.status = "seen";
    // A re-considered element (the page changed it) is read afresh: picture and context.
    item.source = null;
    item.context = null;
    items.set(item.id, item);
    itemOf.set(el, item);
    io.observe(el);
  }

  function scan(root) {
    for (const [el, notHidden] of detect.candidatesIn(root)) consider(el, notHidden);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.shadowRoot) {
        observeRoot(node.shadowRoot);
        scan(node.shadowRoot);
      }
    }
  }

  function observeRoot(root) {
    if (observers.some((o) => o.root === root)) return;
    const observer = new MutationObserver(guard(onMutations));
    observer.observe(root, { childList: true, subtree: true, attributes: true, attributeFilter: WATCHED_ATTRS });
    observers.push({ root, observer });
  }

  function onMutations(records) {
    if (!active) return;
    for (const record of records) {
      const type = record.type;
      if (type === "childList") {
        context.pageChanged(); // headings may move
        for (const node of record.addedNodes) {
          if (node.nodeType !== 1) continue;
          if (node.matches(detect.CANDIDATE_SELECTOR)) consider(node);
          if (node.shadowRoot) {
            observeRoot(node.shadowRoot);
            scan(node.shadowRoot);
          }
          if (node.firstElementChild) scan(node);
        }
        if (record.removedNodes.length) scheduleCleanup();
      } else if (type === "attributes") {
        const attr = record.attributeName;
        if (attr === "role") context.pageChanged(); // a heading may come or go
        onAttributeChange(record.target, attr);
      }
    }
  }

  function onAttributeChange(el, attr) {
    if (apply.isOurs(el, attr)) return;
    const item = itemOf.get(el);
    const newPicture = attr === "src" || attr === "srcset";
    // A new picture is read afresh even where nothing was written yet: an image found before its
    // script gave it a src (lazy-loaders set it from data-src) had no picture to send then.
    if (item && (apply.touched(el) || newPicture)) {
      if (apply.touched(el)) {
        if (newPicture) apply.restore(el); // the description was for the old picture
        else apply.forget(el); // the page named it itself: the author wins
      }
      item.status = "author";
      queued.delete(item);
      waiting.delete(item);
    }
    consider(el);
    // A control whose content changed may now need (or no longer need) its image described.
    const inner = el.querySelector && el.querySelector(detect.CANDIDATE_SELECTOR);
    if (inner) consider(inner);
  }

  let cleanupTimer = 0;
  function scheduleCleanup() {
    if (cleanupTimer) return;
    cleanupTimer = setTimeout(guard(() => {
      cleanupTimer = 0;
      for (const [id, item] of items) {
        if (!item.el.isConnected) {
          items.delete(id);
          queued.delete(item);
          waiting.delete(item);
          hidden.delete(item);
        }
      }
    }), 1000);
  }

  // ---- classification --------------------------------------------------

  /**
   * One pass per observer callback: the observer hands over each element's box
   * from the browser's own layout, so no image costs a forced layout, and the
   * pass makes its writes only after all its reads. The box is kept for the
   * context, which describe() reads when the item's batch goes out.
   */
  let sourceCounts = null; // src -> how many <img> of the document show it; built once per callback, when asked

  /** How often `src` appears among the document's images (detect.localClass's "repeated" rule). */
  function timesOnPage(src) {
    if (!sourceCounts) {
      sourceCounts = new Map();
      for (const img of document.images) {
        const key = img.currentSrc || img.src;
        if (key) sourceCounts.set(key, (sourceCounts.get(key) || 0) + 1);
      }
    }
    return sourceCounts.get(src) || 0;
  }

  const onIntersect = guard((entries) => {
    if (!active) return;
    sourceCounts = null; // counted afresh: the page may have changed since the last callback
    const local = []; // decorative by rule (detect.localClass)
    let near; // the root's bounds (the viewport grown by NEAR_PX): one read serves every entry
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      const el = entry.target;
      io.unobserve(el);
      const item = itemOf.get(el);
      if (!item || !el.isConnected) continue;
      if (item.kind === "img" && !el.complete) { // kind img: an <img>
        el.addEventListener("load", guard(() => remeasure(item)), { once: true }); // its box may change
        continue;
      }
      const r = entry.boundingClientRect;
      const rect = { top: r.top, bottom: r.bottom, width: r.width, height: r.height }; // each read once
      const settled = detect.localClass(el, item.kind, rect, timesOnPage);
      if (settled === "hidden") {
        item.status = "hidden";
        hidden.add(item);
        scheduleHiddenCheck();
        continue;
      }
      hidden.delete(item);
      if (settled) {
        local.push(item);
        continue;
      }
      if (near === undefined) near = rootEdges(entry.rootBounds);
      item.rect = rect;
      item.context = null; // read when sent, as the page is then
      item.distance = distanceFromView(rect, near);
      item.status = "queued";
      queued.add(item);
    }
    for (const item of local) {
      apply.writeDecorative(item.el, item.kind);
      item.status = "local-decorative";
    }
    if (queued.size) scheduleFlush([...queued].some((item) => item.distance === 0) ? IN_VIEW_DELAY_MS : FLUSH_DELAY_MS);
  });

  /**
   * The top and bottom of the observer's root bounds, or null where a
   * cross-origin frame is not told where its viewport is. They only change
   * when the viewport is resized, so the first entry of a callback speaks for
   * all of them.
   */
  function rootEdges(bounds) {
    return bounds ? { top: bounds.top, bottom: bounds.bottom } : null;
  }

  /** How far outside the viewport a box is (0: in it), from the observer's root edges, which add NEAR_PX. */
  function distanceFromView(rect, near) {
    if (!near) return 0;
    const above = near.top + NEAR_PX - rect.bottom;
    const below = rect.top - (near.bottom - NEAR_PX);
    return Math.max(0, above, below);
  }

  /** Have the observer measure the element again; its next callback classifies it when near. */
  function remeasure(item) {
    if (active && item.el.isConnected) io.observe(item.el);
  }

  function scheduleHiddenCheck() {
    if (hiddenTimer) return;
    hiddenTimer = setTimeout(guard(() => {
      hiddenTimer = 0;
      for (const item of [...hidden]) {
        hidden.delete(item);
        if (item.el.isConnected && detect.needsDescription(item.el, settings.kinds)) remeasure(item);
      }
    }), HIDDEN_RECHECK_MS);
  }

  // ---- describing ------------------------------------------------------

  const guardedFlush = guard(flush);

  /** Flush after ``delay`` ms, or sooner if already timed sooner. */
  function scheduleFlush(delay) {
    const at = Date.now() + delay;
    if (flushTimer && flushAt <= at) return;
    clearTimeout(flushTimer);
    flushAt = at;
    flushTimer = setTimeout(guardedFlush, delay);
  }

  /** The context without its empty fields (the backend fills them in): messages stay small. */
  function sparse(fields) {
    const out = {};
    for (const name in fields) {
      const value = fields[name];
      if (value !== "" && value !== false) out[name] = value;
    }
    return out;
  }

  /**
   * Send the next message. One is out at a time: its answer sends the next,
   * with all that queued meanwhile, visible images first (few messages, full
   * batches, and no visible image stuck behind others already sent).
   */
  async function flush() {
    flushTimer = 0;
    if (!active || !queued.size || messageOut) return;
    let batch = [...queued];
    // A message is answered whole, and on real pages each image costs the backend a text
    // read (0.1-0.8 s): while images in view wait, they go alone, ahead of those only near it,
    // and the background sends them at once (inView) rather than gathering more.
    const inView = batch.filter((item) => item.distance === 0);
    if (inView.length) batch = inView;
    // Nearest first when more than a message waits, as near as each was when measured (the sort
    // is stable, so then in page order); a message is answered whole, so its own order is free.
    if (batch.length > BATCH) batch = batch.sort((a, b) => a.distance - b.distance).slice(0, BATCH);
    for (const item of batch) queued.delete(item);
    messageOut = true;
    try {
      await describe(batch);
    } finally {
      messageOut = false;
      // The next message at once, with all that queued meanwhile (a flush already
      // timed by a new arrival keeps its time, as before): no timer task between.
      if (queued.size && !flushTimer) queueMicrotask(guardedFlush);
    }
  }

  async function describe(batch) {
    // Context first, for the whole batch in one pass (shared lookups, and no
    // await between reads), then the sources, most of them plain URLs.
    const pass = context.newPass();
    const ready = [];
    for (const item of batch) {
      const el = item.el;
      if (!el.isConnected) continue;
      if (!item.context || !item.source) {
        const src = context.sourceUrl(el, item.kind); // read once for both
        if (!item.context) {
          item.context = context.collect(el, item.kind, pass, item.rect || el.getBoundingClientRect(), src);
        }
        if (!item.source) item.source = imageSource.plainSource(src);
      }
      ready.push(item);
    }
    const payload = [];
    for (const item of ready) {
      if (!item.source) item.source = await imageSource.sourceOf(item.el, item.kind);
      if (!item.source) {
        item.status = "unavailable";
        continue;
      }
      item.status = "pending";
      payload.push({ itemId: item.id, source: item.source, context: sparse(item.context), kind: item.kind });
    }
    if (!payload.length) return;
    const reply = await browser.sendMessage({ type: "describe", items: payload, pageUrl: location.href,
      inView: batch.every((item) => item.distance === 0) });
    const results = new Map();
    if (reply && Array.isArray(reply.results)) {
      for (const r of reply.results) if (r && !results.has(r.itemId)) results.set(r.itemId, r);
    }
    const applied = [];
    let retryAfter = 0;
    for (const entry of payload) {
      const item = items.get(entry.itemId);
      if (!item || item.source !== entry.source) continue; // the page changed the picture meanwhile
      const res = results.get(entry.itemId) || null;
      if (!res || (!res.ok && (res.error === "backend_unavailable" || res.error === "internal"))) {
        item.status = "waiting";
        waiting.add(item);
        retryAfter = Math.max(retryAfter, (res && res.retryAfterMs) || 0);
        continue;
      }
      if (!res.ok) {
        item.status = res.error === "not_configured" || res.error === "unauthorized" ? "needs-settings" : "failed";
        if (item.status === "needs-settings") waiting.add(item);
        continue;
      }
      waiting.delete(item);
      if (!active || apply.touched(item.el) || !detect.needsDescription(item.el, settings.kinds)) continue;
      const out = apply.applyResult(item.el, item.kind, res.result, settings, item.context);
      item.status = out.status;
      item.result = res.result;
      if (out.status === "generated") applied.push(out.text);
    }
    announce.results(settings.announce, applied);
    const stillDown = [...waiting].some((i) => i.status === "waiting");
    if (stillDown) scheduleRetry(retryAfter);
    else retryDelay = 0;
  }

  /** Exponential backoff with jitter, from the settings; the backend's Retry-After wins if longer. */
  function scheduleRetry(retryAfterMs) {
    if (retryTimer) return;
    retryDelay = retryDelay ? Math.min(settings.retryMaxMs, retryDelay * 2) : settings.retryBaseMs;
    const delay = Math.max(retryDelay, Math.min(retryAfterMs || 0, settings.retryMaxMs)) * (0.85 + Math.random() * 0.3);
    retryTimer = setTimeout(guard(requeueWaiting), delay);
  }

  function requeueWaiting() {
    retryTimer = 0;
    for (const item of [...waiting]) {
      waiting.delete(item);
      if (item.el.isConnected) {
        item.status = "queued";
        queued.add(item);
      }
    }
    scheduleFlush(0);
  }

  // ---- on / off ----------------------------------------------------------

  function start() {
    if (active) return;
    active = true;
    io = new IntersectionObserver(onIntersect, { rootMargin: `${NEAR_PX}px` });
    browser.sendMessage({ type: "frameStart", pageUrl: location.href });
    observeRoot(document);
    scan(document);
  }

  function stop() {
    if (!active) return;
    active = false;
    for (const { observer } of observers.splice(0)) observer.disconnect();
    if (io) io.disconnect();
    for (const timer of [flushTimer, retryTimer, hiddenTimer]) clearTimeout(timer);
    flushTimer = retryTimer = hiddenTimer = 0;
    for (const item of items.values()) apply.restore(item.el);
    items.clear();
    itemOf = new WeakMap();
    queued.clear();
    waiting.clear();
    hidden.clear();
    browser.sendMessage({ type: "frameStop" });
  }

  async function refreshSettings() {
    settings = await settingsLib.load();
    if (settingsLib.isEnabledFor(settings, location.href)) {
      start();
      if (waiting.size) {
        clearTimeout(retryTimer);
        retryDelay = 0;
        requeueWaiting();
      }
    } else {
      stop();
    }
  }

  // ---- feedback entry points ----------------------------------------------

  function deepActiveElement() {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    return el;
  }

  /** The described item for an element: itself, an ancestor, or an image inside it. */
  function itemFor(el) {
    for (let node = el; node; node = node.parentElement) {
      const item = itemOf.get(node);
      if (item && item.result) return item;
    }
    if (el && el.querySelectorAll) {
      for (const inner of el.querySelectorAll(detect.CANDIDATE_SELECTOR)) {
        const item = itemOf.get(inner);
        if (item && item.result) return item;
      }
    }
    return null;
  }

  async function openFeedback(el) {
    const item = itemFor(el);
    if (!item) {
      if (document.hasFocus()) announce.say("altlens: no generated description here. Open the altlens popup to see all.");
      return { ok: false, error: "no_item" };
    }
    const now = Date.now();
    if (now - lastOpen < 800) return { ok: true }; // the command and the key listener both fired
    lastOpen = now;
    return (await browser.sendMessage({ type: "openFeedback", itemId: item.id })) || { ok: false };
  }

  function onKeyDown(event) {
    if (!active || !event.altKey || !event.shiftKey || event.ctrlKey || event.metaKey || event.code !== "KeyD") return;
    const el = deepActiveElement();
    if (itemFor(el)) {
      event.preventDefault();
      openFeedback(el);
    }
  }

  function setDescription(itemId, text) {
    const item = items.get(itemId);
    if (!item || !item.el.isConnected) return { ok: false, error: "no_item" };
    const clean = ns.text.clean(text, ns.text.DESCRIPTION_LIMIT);
    if (!clean) return { ok: false, error: "empty" };
    apply.writeName(item.el, item.kind, clean, "corrected");
    item.status = "corrected";
    return { ok: true };
  }

  browser.onMessage((message) => {
    if (!message || typeof message.type !== "string") return undefined;
    switch (message.type) {
      case "setDescription":
        return setDescription(message.itemId, message.text);
      case "openFeedbackFocused":
        if (!document.hasFocus()) return { ok: false, error: "not_focused" };
        return openFeedback(deepActiveElement());
      case "openFeedbackContextMenu": {
        const el = browser.contextMenuTarget(message.targetElementId) || lastContextTarget;
        return openFeedback(el);
      }
      default:
        return undefined;
    }
  });

  document.addEventListener("contextmenu", (event) => {
    lastContextTarget = event.composedPath ? event.composedPath()[0] : event.target;
  }, true);
  window.addEventListener("keydown", guard(onKeyDown), true);
  browser.onStorageChange(guard((changes, area) => {
    if (area === "local" && changes[settingsLib.STORAGE_KEY]) refreshSettings();
  }));

  guard(refreshSettings)();
})();
