/*
 * De-duplicate, cache and batch describe requests from every tab.
 *
 * Items with the same image and context share one answer: a cache (memory,
 * mirrored to storage.session so a restarted service worker keeps it) and a
 * map of requests in flight.
 *
 * Batching: one describe request is out at a time. Items gather while it is
 * out and go together as the next POST, up to the backend's batch limit (32),
 * in the order they came (the content script sends near-viewport images
 * first). A message's items stay together: a batch ends before a message
 * that would not fit whole, since the content script hears about a message
 * only once all of it is answered. With nothing out, a batch leaves once no
 * new item has come for QUIET_MS, or once its oldest item has waited
 * MAX_WAIT_MS, or when it is full. A page's images arrive over a few hundred
 * milliseconds as they load, and the backend describes a batch far cheaper
 * than the same images one request each, so this costs a visible image
 * little and saves many requests.
 * A message of images in view (the content script's first) goes at once
 * when no request is out: someone is looking at them, and nothing that
 * could join it is worth their wait.
 * When the backend is down the items fail fast for a while (the content
 * script schedules the next try), so a dead backend costs one request, not
 * one per image.
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.Describer) return;

  const MAX_BATCH = 32; // the backend's ALTLENS_MAX_BATCH default
  const MAX_BATCH_BYTES = 14 * 1024 * 1024; // base64 under the backend's 20 MB body limit
  const QUIET_MS = 60;
  const MAX_WAIT_MS = 300;
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
      this.sending = false; // a describe request is out
      this.lastArrival = 0;
      this.downUntil = 0;
    }

    /** items: [{source, context}] of one message -> [{ok, result} | {ok: false, error, retryAfterMs}] in order.
     * inView: the message's images are in view (sent without gathering others). */
    async describe(items, inView = false) {
      const keys = await Promise.all(items.map((item) =>
        sha256(`${item.source.url || item.source.dataUrl}\n${JSON.stringify(item.context)}`)));
      const cached = await Promise.all(keys.map((key) => this.cacheGet(key)));
      const message = {}; // the identity its pending items share
      const answers = items.map((item, i) => cached[i]
        ? { ok: true, result: Object.assign({}, cached[i], { cached: true }) }
        : this.enqueue(keys[i], item, message, inView));
      this.schedule();
      return Promise.all(answers);
    }

    /** The answer to one uncached item: shared with the same item in flight, or queued for the next batch. */
    enqueue(key, item, message, inView = false) {
      if (this.inflight.has(key)) return this.inflight.get(key);
      const now = Date.now();
      if (now < this.downUntil) return { ok: false, error: "backend_unavailable", retryAfterMs: this.downUntil - now };
      const promise = new Promise((resolve) => {
        this.pending.push({ key, source: item.source, context: item.context, resolve, at: now, message, inView });
      });
      this.inflight.set(key, promise);
      promise.then(() => this.inflight.delete(key));
      this.lastArrival = now;
      return promise;
    }

    /** The next batch: pending items in order, up to MAX_BATCH, ending between two messages where it can. */
    takeBatch() {
      let end = Math.min(this.pending.length, MAX_BATCH);
      const cut = this.pending[end];
      if (cut && cut.message === this.pending[end - 1].message) {
        let start = end - 1; // where the message cut in two begins
        while (start > 0 && this.pending[start - 1].message === cut.message) start--;
        if (start > 0) end = start;
      }
      return this.pending.splice(0, end);
    }

    /** Arm the timer for the next batch; while a request is out, its end sends the next one instead. */
    schedule() {
      if (this.sending || !this.pending.length) return;
      clearTimeout(this.timer);
      const now = Date.now();
      const delay = this.pending.length >= MAX_BATCH || this.pending[0].inView ? 0
        : Math.min(this.lastArrival + QUIET_MS, this.pending[0].at + MAX_WAIT_MS) - now;
      this.timer = setTimeout(() => this.flush(), Math.max(0, delay));
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
      clearTimeout(this.timer);
      this.timer = 0;
      if (this.sending || !this.pending.length) return;
      const now = Date.now();
      if (now < this.downUntil) { // learnt while the last request was out: no request for these either
        for (const entry of this.pending.splice(0)) {
          entry.resolve({ ok: false, error: "backend_unavailable", retryAfterMs: this.downUntil - now });
        }
        return;
      }
      const batch = this.takeBatch();
      this.sending = true;
      try {
        await this.send(batch);
      } catch (error) {
        for (const entry of batch) entry.resolve({ ok: false, error: "internal", message: String(error) });
      } finally {
        this.sending = false;
        this.schedule();
      }
    }

    async send(batch) {
      const settings = await this.loadSettings();
      if (!this.client.configured(settings)) {
        for (const entry of batch) entry.resolve({ ok: false, error: "not_configured" });
        return;
      }
      let ready = [];
      const later = [];
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
          later.push(entry);
          continue;
        }
        bytes += entry.image.length;
        ready.push(entry);
      }
      this.pending.unshift(...later); // the next batch, sent when this one ends
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
