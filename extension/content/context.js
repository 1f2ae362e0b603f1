/*
 * The page context of one image, with exactly the fields of PageContext in
 * backend/modelinput.py, each bounded. Context is what lets the model say what
 * a linked icon does rather than what it looks like, so it is collected with
 * care; every walk is capped so big pages stay cheap.
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.context) return;

  const { FIELD_LIMITS, clean } = ns.text;
  const HEADING = /^h[1-6]$/;
  const BLOCK = "p, li, figure, article, section, td, th, dd, blockquote, aside, header, footer, main, div";
  const MAX_WALK = 1500;

  function textOf(node, limit) {
    return clean(node ? node.textContent : "", limit);
  }

  function isHeading(el) {
    return HEADING.test(el.localName) || (el.getAttribute("role") || "").toLowerCase() === "heading";
  }

  /** The nearest heading before the element in document order (crossing out of shadow roots). */
  function nearestHeading(el, depth = 0) {
    const root = el.getRootNode();
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT);
    walker.currentNode = el;
    for (let i = 0; i < MAX_WALK; i++) {
      const node = walker.previousNode();
      if (!node) break;
      if (isHeading(node)) return textOf(node, FIELD_LIMITS.heading);
    }
    return root.host && depth < 4 ? nearestHeading(root.host, depth + 1) : "";
  }

  function caption(el) {
    const figure = el.closest("figure");
    if (figure) {
      const figcaption = figure.querySelector("figcaption");
      if (figcaption) return textOf(figcaption, FIELD_LIMITS.caption);
    }
    const describedBy = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    const root = el.getRootNode();
    for (const id of describedBy) {
      const target = root.getElementById ? root.getElementById(id) : null;
      if (target && target.textContent.trim()) return textOf(target, FIELD_LIMITS.caption);
    }
    // Caption-like text right after the image (or its wrapper).
    for (const node of [el.nextElementSibling, el.parentElement && el.parentElement.nextElementSibling]) {
      if (node && /caption|credit|legend/i.test(node.className && String(node.className))) {
        return textOf(node, FIELD_LIMITS.caption);
      }
    }
    return "";
  }

  function surroundingText(el, control) {
    let node = (control || el).parentElement;
    for (let level = 0; node && level < 4; level++, node = node.parentElement) {
      if (!node.matches(BLOCK)) continue;
      const text = clean(node.textContent, FIELD_LIMITS.surrounding_text);
      if (text.length >= 20) return text;
    }
    return "";
  }

  /** Origin + path only: query strings can hold session ids and tokens. */
  function safeHref(href) {
    try {
      const u = new URL(href, document.baseURI);
      if (u.protocol !== "http:" && u.protocol !== "https:") return "";
      return clean(u.origin + u.pathname, FIELD_LIMITS.control_href);
    } catch (_) {
      return "";
    }
  }

  function fileName(src) {
    if (!src) return "";
    try {
      const u = new URL(src, document.baseURI);
      if (u.protocol !== "http:" && u.protocol !== "https:" && u.protocol !== "file:") return "";
      return clean(decodeURIComponent(u.pathname.split("/").pop() || ""), FIELD_LIMITS.file_name);
    } catch (_) {
      return "";
    }
  }

  function sourceUrl(el) {
    if (el.localName === "img") return el.currentSrc || el.src || "";
    if (el.localName === "input") return el.src || "";
    return "";
  }

  function controlInfo(el, kind) {
    if (kind === "inputImage") {
      const form = el.form;
      return {
        role: "button",
        text: clean(el.value || "", FIELD_LIMITS.control_text),
        href: form ? safeHref(form.action) : "",
        onlyContent: true,
        control: el,
      };
    }
    const control = ns.detect.enclosingControl(el);
    if (!control) return { role: "", text: "", href: "", onlyContent: false, control: null };
    const role = control.localName === "a" || (control.getAttribute("role") || "").toLowerCase() === "link"
      ? "link" : "button";
    const text = ns.detect.controlOwnText(control, el);
    return {
      role,
      text: clean(text, FIELD_LIMITS.control_text),
      href: control.localName === "a" ? safeHref(control.getAttribute("href") || "") : "",
      onlyContent: text === "",
      control,
    };
  }

  /** PageContext fields for `el` (see backend/modelinput.py). */
  function collect(el, kind) {
    const control = controlInfo(el, kind);
    const rect = el.getBoundingClientRect();
    const langHolder = el.closest("[lang]");
    return {
      page_title: clean(document.title, FIELD_LIMITS.page_title),
      lang: clean((langHolder && langHolder.getAttribute("lang")) || document.documentElement.lang || "",
        FIELD_LIMITS.lang),
      caption: caption(el),
      heading: nearestHeading(el),
      surrounding_text: surroundingText(el, control.control),
      control_role: control.role,
      control_text: control.text,
      control_href: control.href,
      only_content: control.onlyContent,
      file_name: fileName(sourceUrl(el)),
      width: Math.round(rect.width),
      height: Math.round(rect.height),
    };
  }

  ns.context = { collect, sourceUrl, fileName };
})();
