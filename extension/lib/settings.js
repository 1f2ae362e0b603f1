/*
 * Typed settings, in one place. Stored as one object under the
 * chrome.storage.local key "settings"; missing fields take the defaults, so
 * tests and users may store only what they change (see extension/README.md).
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.settings) return;

  const STORAGE_KEY = "settings";
  const ANNOUNCE_MODES = ["off", "summary", "each"];
  const KINDS = ["img", "inputImage", "roleImg", "svg"];

  const DEFAULTS = Object.freeze({
    backendUrl: "http://127.0.0.1:5000", // where images and context are sent
    token: "", // Bearer token made with `flask --app backend tokens create NAME`
    enabled: true, // global on/off
    disabledSites: [], // host names where the extension leaves pages alone
    announce: "summary", // live-region announcements: off | summary | each
    prefixAll: false, // say "Generated:" before every generated description
    kinds: Object.freeze({ img: true, inputImage: true, roleImg: true, svg: true }),
    retryBaseMs: 2000, // first wait after the backend was unreachable
    retryMaxMs: 60000, // longest wait between tries
  });

  function normalise(stored) {
    const s = Object.assign({}, DEFAULTS, stored || {});
    s.kinds = Object.assign({}, DEFAULTS.kinds, (stored && stored.kinds) || {});
    for (const k of KINDS) s.kinds[k] = Boolean(s.kinds[k]);
    s.backendUrl = String(s.backendUrl || "").trim().replace(/\/+$/, "");
    s.token = String(s.token || "").trim();
    s.enabled = Boolean(s.enabled);
    s.prefixAll = Boolean(s.prefixAll);
    s.disabledSites = Array.isArray(s.disabledSites) ? s.disabledSites.map(String) : [];
    if (!ANNOUNCE_MODES.includes(s.announce)) s.announce = DEFAULTS.announce;
    s.retryBaseMs = clampNumber(s.retryBaseMs, 50, 600000, DEFAULTS.retryBaseMs);
    s.retryMaxMs = clampNumber(s.retryMaxMs, s.retryBaseMs, 3600000, DEFAULTS.retryMaxMs);
    return s;
  }

  function clampNumber(value, low, high, fallback) {
    const n = Number(value);
    if (!Number.isFinite(n)) return fallback;
    return Math.min(high, Math.max(low, n));
  }

  async function load() {
    const got = await ns.browser.storageLocal.get(STORAGE_KEY);
    return normalise(got && got[STORAGE_KEY]);
  }

  /** Merge `changes` into the stored settings. */
  async function save(changes) {
    const got = await ns.browser.storageLocal.get(STORAGE_KEY);
    const next = Object.assign({}, (got && got[STORAGE_KEY]) || {}, changes);
    await ns.browser.storageLocal.set({ [STORAGE_KEY]: next });
    return normalise(next);
  }

  /** The site key of a page URL: its host name ("" for pages we never touch). */
  function siteOf(url) {
    try {
      const u = new URL(url);
      if (u.protocol === "http:" || u.protocol === "https:") return u.hostname;
      if (u.protocol === "file:") return "file";
    } catch (_) {
      /* not a URL */
    }
    return "";
  }

  function isEnabledFor(settings, url) {
    const site = siteOf(url);
    return settings.enabled && site !== "" && !settings.disabledSites.includes(site);
  }

  ns.settings = { STORAGE_KEY, DEFAULTS, ANNOUNCE_MODES, KINDS, normalise, load, save, siteOf, isEnabledFor };
})();
