/*
 * Where the background can get an image's bytes. Plain http(s) and data: URLs
 * are passed on: the background fetches them itself (no CORS limits, the page
 * never sees the request). Only what the background cannot read is turned into
 * a data: URL here: blob: URLs (bound to the page's origin) and SVG (the
 * backend reads raster images only), rasterised on a canvas.
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.imageSource) return;

  const MAX_RASTER = 512;
  const SVG_URL = /^data:image\/svg\+xml|\.svg(?:[?#]|$)/i;

  function loadImage(url) {
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error("image did not load"));
      img.src = url;
    });
  }

  function rasterise(img, width, height) {
    const scale = Math.min(1, MAX_RASTER / Math.max(width, height, 1));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL("image/png"); // throws when the canvas is tainted
  }

  async function blobToDataUrl(url) {
    const blob = await (await fetch(url)).blob();
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  async function inlineSvg(svg) {
    const rect = svg.getBoundingClientRect();
    const copy = svg.cloneNode(true);
    copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
    copy.setAttribute("width", String(Math.round(rect.width) || 64));
    copy.setAttribute("height", String(Math.round(rect.height) || 64));
    const color = getComputedStyle(svg).color;
    if (color && !copy.getAttribute("color")) copy.setAttribute("color", color);
    const markup = new XMLSerializer().serializeToString(copy);
    const img = await loadImage("data:image/svg+xml;charset=utf-8," + encodeURIComponent(markup));
    return rasterise(img, rect.width || 64, rect.height || 64);
  }

  async function fromUrl(url, loadedImg) {
    if (!url) return null;
    if (url.startsWith("blob:")) return { dataUrl: await blobToDataUrl(url) };
    if (SVG_URL.test(url)) {
      const img = loadedImg && loadedImg.complete && loadedImg.naturalWidth ? loadedImg : await loadImage(url);
      return { dataUrl: rasterise(img, img.naturalWidth || 64, img.naturalHeight || 64) };
    }
    if (/^(https?|data):/i.test(url)) return { url };
    return null;
  }

  function backgroundImageUrl(el) {
    const match = /url\(["']?([^"')]+)["']?\)/.exec(getComputedStyle(el).backgroundImage || "");
    return match ? new URL(match[1], document.baseURI).href : "";
  }

  /** {url} or {dataUrl} for the element, or null when it has no image we can read. */
  async function sourceOf(el, kind) {
    try {
      if (kind === "img") return await fromUrl(el.currentSrc || el.src, el);
      if (kind === "inputImage") return await fromUrl(el.src, null);
      if (kind === "svg") return { dataUrl: await inlineSvg(el) };
      if (kind === "roleImg") {
        const bg = backgroundImageUrl(el);
        if (bg) return await fromUrl(bg, null);
        const inner = el.querySelector("img, svg");
        if (inner && inner.localName === "img") return await fromUrl(inner.currentSrc || inner.src, inner);
        if (inner) return { dataUrl: await inlineSvg(inner) };
      }
    } catch (_) {
      return null;
    }
    return null;
  }

  /**
   * The common case without a promise: an <img> or input's URL (context.sourceUrl)
   * when it is plain http(s) or data: and not SVG, as {url} just as sourceOf
   * would give it. null when sourceOf has work to do.
   */
  function plainSource(url) {
    if (!url || url.startsWith("blob:") || SVG_URL.test(url) || !/^(https?|data):/i.test(url)) return null;
    return { url };
  }

  /** A short stable identity of the source, for de-duplication. */
  function identity(source) {
    if (!source) return "";
    return source.url || source.dataUrl || "";
  }

  ns.imageSource = { sourceOf, plainSource, identity };
})();
