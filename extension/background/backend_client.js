/*
 * HTTP calls to the altlens backend (docs/api.md), with a timeout and retries
 * with exponential backoff for the answers that mean "try again later"
 * (network error, 429, 502-504). Never throws: callers get {status, body}.
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.backendClient) return;

  const RETRYABLE = new Set([0, 408, 429, 502, 503, 504]);
  const TIMEOUT_MS = 60000;

  function retryAfterMs(response) {
    const header = response && response.headers.get("Retry-After");
    const seconds = Number(header);
    return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
  }

  async function once(settings, method, path, body) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    try {
      const headers = { Accept: "application/json" };
      if (settings.token) headers.Authorization = `Bearer ${settings.token}`;
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const response = await fetch(settings.backendUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
        signal: controller.signal,
      });
      let json = null;
      try {
        json = await response.json();
      } catch (_) {
        json = null;
      }
      return { status: response.status, body: json, retryAfterMs: retryAfterMs(response) };
    } catch (error) {
      return { status: 0, body: null, retryAfterMs: 0, message: String(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * One call with up to `attempts` tries. Waits base*2^n (with jitter) between
   * tries, or the server's Retry-After when it is longer but still short.
   */
  async function request(settings, method, path, body, { attempts = 3, baseMs = 400, maxWaitMs = 5000 } = {}) {
    let result = null;
    for (let attempt = 0; attempt < attempts; attempt++) {
      result = await once(settings, method, path, body);
      if (!RETRYABLE.has(result.status) || attempt === attempts - 1) break;
      if (result.retryAfterMs > maxWaitMs) break; // the caller schedules a later try
      const backoff = baseMs * 2 ** attempt * (0.8 + Math.random() * 0.4);
      await new Promise((resolve) => setTimeout(resolve, Math.max(backoff, result.retryAfterMs)));
    }
    return result;
  }

  function configured(settings) {
    return Boolean(settings.backendUrl && /^https?:\/\//i.test(settings.backendUrl) && settings.token);
  }

  const client = {
    RETRYABLE,
    configured,
    describe: (settings, images, options) => request(settings, "POST", "/api/v1/describe", { images }, options),
    feedback: (settings, payload) => request(settings, "POST", "/api/v1/feedback", payload, { attempts: 3 }),
    health: (settings) => request(settings, "GET", "/api/v1/health", undefined, { attempts: 1 }),
    model: (settings) => request(settings, "GET", "/api/v1/model", undefined, { attempts: 1 }),
    /** A POST with an empty batch: 401 means the token is wrong, anything else that it was accepted. */
    checkToken: (settings) => request(settings, "POST", "/api/v1/describe", { images: [] }, { attempts: 1 }),
  };
  ns.backendClient = client;
})();
