/*
 * The generated descriptions of each tab, for the popup and the feedback
 * window: what was served (generation id, text, candidates) and which frame
 * holds the element. Mirrored to storage.session so a service worker that was
 * stopped and restarted still knows them.
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.TabItems) return;

  const MAX_PER_TAB = 500;

  class TabItems {
    constructor(session) {
      this.session = session;
      this.tabs = new Map(); // tabId -> Map(itemId -> record)
    }

    async tab(tabId) {
      if (!this.tabs.has(tabId)) {
        let stored = [];
        if (this.session) {
          try {
            const got = await this.session.get("t:" + tabId);
            stored = (got && got["t:" + tabId]) || [];
          } catch (_) {
            stored = [];
          }
        }
        if (!this.tabs.has(tabId)) this.tabs.set(tabId, new Map(stored.map((r) => [r.itemId, r])));
      }
      return this.tabs.get(tabId);
    }

    persist(tabId) {
      if (!this.session) return;
      const records = [...(this.tabs.get(tabId) || new Map()).values()];
      this.session.set({ ["t:" + tabId]: records }).catch(() => {});
    }

    async add(tabId, record) {
      const items = await this.tab(tabId);
      items.set(record.itemId, record);
      while (items.size > MAX_PER_TAB) items.delete(items.keys().next().value);
      this.persist(tabId);
    }

    async get(tabId, itemId) {
      return (await this.tab(tabId)).get(itemId) || null;
    }

    async list(tabId) {
      return [...(await this.tab(tabId)).values()];
    }

    async update(tabId, itemId, changes) {
      const items = await this.tab(tabId);
      const record = items.get(itemId);
      if (!record) return null;
      Object.assign(record, changes);
      this.persist(tabId);
      return record;
    }

    /** Forget a frame's items (it reloaded or was turned off); frame 0 forgets the whole tab. */
    async clearFrame(tabId, frameId) {
      const items = await this.tab(tabId);
      for (const [id, record] of items) {
        if (frameId === 0 || record.frameId === frameId) items.delete(id);
      }
      this.persist(tabId);
    }

    forgetTab(tabId) {
      this.tabs.delete(tabId);
      if (this.session) this.session.remove("t:" + tabId).catch(() => {});
    }
  }

  ns.TabItems = TabItems;
})();
