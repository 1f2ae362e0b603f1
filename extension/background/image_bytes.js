/*
 * Image bytes as base64 for the describe request. The background fetches
 * http(s) images itself (host permission, no CORS, credentials omitted so no
 * cookies travel); data: URLs are decoded. Images over the backend's 5 MB
 * limit are scaled down with OffscreenCanvas where the browser has one.
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.imageBytes) return;

  const MAX_BYTES = 5 * 1024 * 1024;
  const FETCH_TIMEOUT_MS = 20000;

  function toBase64(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary);
  }

  async function shrink(blob) {
    if (typeof OffscreenCanvas === "undefined" || typeof createImageBitmap === "undefined") return null;
    const bitmap = await createImageBitmap(blob);
    const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
    const canvas = new OffscreenCanvas(Math.round(bitmap.width * scale), Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return canvas.convertToBlob({ type: "image/jpeg", quality: 0.85 });
  }

  async function fetchBlob(url) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    try {
      const response = await fetch(url, { credentials: "omit", cache: "force-cache", signal: controller.signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return await response.blob();
    } finally {
      clearTimeout(timer);
    }
  }

  /** base64 bytes of {url} or {dataUrl}; throws when the image cannot be had. */
  async function base64Of(source) {
    const url = source.dataUrl || source.url;
    if (!url || !/^(https?|data):/i.test(url)) throw new Error("unsupported source");
    let blob = await fetchBlob(url); // fetch() decodes data: URLs too
    if (blob.size > MAX_BYTES) blob = await shrink(blob);
    if (!blob || blob.size > MAX_BYTES || blob.size === 0) throw new Error("image too large or empty");
    return toBase64(await blob.arrayBuffer());
  }

  ns.imageBytes = { base64Of, MAX_BYTES };
})();
