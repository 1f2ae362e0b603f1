/*
 * The one place that knows Chrome and Firefox differ.
 *
 * Every other file calls `altlens.browser.*` and never touches `chrome` or
 * `browser` directly, so a difference found later (issue 9: Firefox) is fixed
 * here once. Loaded first in every context: content scripts, the background
 * (service worker in Chrome, event page in Firefox) and the extension pages.
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.browser) return;

  // Firefox exposes promise-based `browser`; Chrome's MV3 `chrome` returns
  // promises when called without a callback. Prefer `browser` when present.
  const raw = typeof globalThis.browser !== "undefined" && globalThis.browser.runtime
    ? globalThis.browser
    : globalThis.chrome;
  const isFirefox = typeof raw.runtime.getBrowserInfo === "function";

  /** True when the extension was reloaded or removed under a live content script. */
  function contextAlive() {
    try {
      return Boolean(raw.runtime && raw.runtime.id);
    } catch (_) {
      return false;
    }
  }

  /** runtime.sendMessage that never throws: resolves null when nobody answers. */
  async function sendMessage(message) {
    if (!contextAlive()) return null;
    try {
      const reply = await raw.runtime.sendMessage(message);
      return reply === undefined ? null : reply;
    } catch (_) {
      return null;
    }
  }

  /** tabs.sendMessage to one frame (or all frames); resolves null on failure. */
  async function sendToTab(tabId, message, frameId) {
    try {
      const options = typeof frameId === "number" ? { frameId } : undefined;
      const reply = await raw.tabs.sendMessage(tabId, message, options);
      return reply === undefined ? null : reply;
    } catch (_) {
      return null;
    }
  }

  /**
   * Listen for messages with an async handler. Chrome does not accept a
   * promise returned from onMessage, Firefox does; sendResponse + `return
   * true` works in both. Handlers return undefined for "not mine".
   */
  function onMessage(handler) {
    raw.runtime.onMessage.addListener((message, sender, sendResponse) => {
      let result;
      try {
        result = handler(message, sender);
      } catch (error) {
        sendResponse({ ok: false, error: "internal", message: String(error) });
        return false;
      }
      if (result === undefined) return false;
      Promise.resolve(result).then(
        (value) => sendResponse(value),
        (error) => sendResponse({ ok: false, error: "internal", message: String(error) })
      );
      return true;
    });
  }

  const menus = raw.menus || raw.contextMenus || null;
  const action = raw.action || raw.browserAction || null;

  /** storage.session where it exists (Chrome 102+, Firefox 115+), else null. */
  const sessionStorage = raw.storage && raw.storage.session ? raw.storage.session : null;

  /** Open an extension page in a small window (a tab where windows do not exist). */
  async function openExtensionWindow(path) {
    const url = raw.runtime.getURL(path);
    if (raw.windows && raw.windows.create) {
      return raw.windows.create({ url, type: "popup", width: 460, height: 640 });
    }
    return raw.tabs.create({ url });
  }

  /**
   * The element a context menu was opened on. Firefox gives its id
   * (menus.getTargetElement); Chrome does not, and the content script falls
   * back to the last `contextmenu` event target.
   */
  function contextMenuTarget(targetElementId) {
    if (isFirefox && typeof targetElementId === "number" && raw.menus && raw.menus.getTargetElement) {
      try {
        return raw.menus.getTargetElement(targetElementId) || null;
      } catch (_) {
        return null;
      }
    }
    return null;
  }

  /** Context-menu item creation; `create` throws on duplicates after a restart. */
  async function createMenu(properties) {
    if (!menus) return;
    await new Promise((resolve) => {
      try {
        menus.create(properties, () => {
          void (raw.runtime.lastError);
          resolve();
        });
      } catch (_) {
        resolve();
      }
    });
  }

  ns.browser = {
    raw,
    isFirefox,
    contextAlive,
    sendMessage,
    sendToTab,
    onMessage,
    menus,
    action,
    storageLocal: raw.storage.local,
    storageSession: sessionStorage,
    /** Call fn(changes, areaName) when stored values change. */
    onStorageChange: (fn) => raw.storage.onChanged.addListener(fn),
    /** Call fn(details) when the extension is installed or updated. */
    onInstall: (fn) => raw.runtime.onInstalled.addListener(fn),
    getURL: (path) => raw.runtime.getURL(path),
    openExtensionWindow,
    contextMenuTarget,
    createMenu,
    commands: raw.commands || null,
    tabs: raw.tabs || null,
  };
})();
