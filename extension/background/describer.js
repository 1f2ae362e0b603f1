/*
 * De-duplicate, cache and batch describe requests from every tab.
 *
 * Items with the same image and context share one answer: a cache (memory,
 * mirrored to storage.session so a restarted service worker keeps it) and a
 * map of requests in flight. Items that arrive within a short window go out
 * as one POST of up to 32 images. When the backend is down the items fail
 * fast for a while (the content script schedules the next try), so a dead
 * backend costs one request, not one per image.
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.Describer) return;

  const MAX_BATCH = 32;
  const MAX_BATCH_BYTES = 14 * 1024 * 1024; // base64 under the backend's 20 MB body limit
  const WINDOW_MS = 40;
  const CACHE_SIZE = 1000;
  const DOWN_MS = 1500;

  async function sha256(text) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  class Describer {
    constructor({ client, imageBytes, session, loadSettings }) {
      this.client = client;
      this.imageBytes = imageBytes;
      this.session = session;
      this.loadSettings = loadSettings;
      this.cache = new Map();
      this.inflight = new Map();
      this.pending = [];
      this.timer = 0;
      this.downUntil = 0;
    }

    /** items: [{source, context}] -> [{ok, result} | {ok: false, error, retryAfterMs}] in order. */
    async describe(items) {
      return Promise.all(items.map((item) => this.describeOne(item)));
    }

    async describeOne(item) {
      const key = await sha256(`${item.source.url || item.source.dataUrl}\n${JSON.stringify(item.context)}`);
      const cached = await this.cacheGet(key);
      if (cached) return { ok: true, result: Object.assign({}, cached, { cached: true }) };
      if (this.inflight.has(key)) return this.inflight.get(key);
      const now = Date.now();
      if (now < this.downUntil) return { ok: false, error: "backend_unavailable", retryAfterMs: this.downUntil - now };
      const promise = new Promise((resolve) => {
        this.pending.push({ key, source: item.source, context: item.context, resolve });
      });
      this.inflight.set(key, promise);
      promise.then(() => this.inflight.delete(key));
      if (!this.timer) this.timer = setTimeout(() => this.flush(), WINDOW_MS);
      return promise;
    }

    async cacheGet(key) {
      if (this.cache.has(key)) {
        const value = this.cache.get(key);
        this.cache.delete(key);
        this.cache.set(key, value); // most recently used last
        return value;
      }
      if (!this.session) return null;
      try {
        const got = await this.session.get("c:" + key);
        return (got && got["c:" + key]) || null;
      } catch (_) {
        return null;
      }
    }

    cachePut(key, result) {
      this.cache.set(key, result);
      const evicted = [];
      while (this.cache.size > CACHE_SIZE) {
        const oldest = this.cache.keys().next().value;
        this.cache.delete(oldest);
        evicted.push("c:" + oldest);
      }
      if (this.session) {
        this.session.set({ ["c:" + key]: result }).catch(() => {});
        if (evicted.length) this.session.remove(evicted).catch(() => {});
      }
    }

    async flush() {
      this.timer = 0;
      const batch = this.pending.splice(0, MAX_BATCH);
      if (this.pending.length) this.timer = setTimeout(() => this.flush(), 0);
      if (!batch.length) return;
      try {
        await this.send(batch);
      } catch (error) {
        for (const entry of batch) entry.resolve({ ok: false, error: "internal", message: String(error) });
      }
    }

    async send(batch) {
      const settings = await this.loadSettings();
      if (!this.client.configured(settings)) {
        for (const entry of batch) entry.resolve({ ok: false, error: "not_configured" });
        return;
      }
      let ready = [];
      let bytes = 0;
      await Promise.all(batch.map(async (entry) => {
        try {
          entry.image = await this.imageBytes.base64Of(entry.source);
        } catch (_) {
          entry.resolve({ ok: false, error: "image_unavailable" });
        }
      }));
      for (const entry of batch) {
        if (!entry.image) continue;
        if (bytes + entry.image.length > MAX_BATCH_BYTES && ready.length) {
          this.pending.unshift(entry); // next batch
          if (!this.timer) this.timer = setTimeout(() => this.flush(), 0);
          continue;
        }
        bytes += entry.image.length;
        ready.push(entry);
      }
      while (ready.length) {
        const images = ready.map((e) => ({ image: e.image, context: e.context }));
        const res = await this.client.describe(settings, images);
        if (res.status === 200 && res.body && Array.isArray(res.body.results)) {
          this.downUntil = 0;
          ready.forEach((entry, i) => {
            const result = res.body.results[i];
            if (!result) {
              entry.resolve({ ok: false, error: "rejected" });
              return;
            }
            this.cachePut(entry.key, result);
            entry.resolve({ ok: true, result });
          });
          return;
        }
        const index = res.body && res.body.error && Number.isInteger(res.body.error.index) ? res.body.error.index : -1;
        if ((res.status === 422 || res.status === 413 || res.status === 400) && index >= 0 && index < ready.length) {
          ready[index].resolve({ ok: false, error: "rejected" }); // one bad image fails the batch: drop it, resend
          ready = ready.filter((_, i) => i !== index);
          continue;
        }
        const error = res.status === 401 || res.status === 403 ? "unauthorized"
          : this.client.RETRYABLE.has(res.status) ? "backend_unavailable" : "rejected";
        if (error === "backend_unavailable") this.downUntil = Date.now() + Math.max(DOWN_MS, Math.min(res.retryAfterMs, 60000));
        for (const entry of ready) entry.resolve({ ok: false, error, retryAfterMs: res.retryAfterMs || 0 });
        return;
      }
    }
  }

  ns.Describer = Describer;
})();
