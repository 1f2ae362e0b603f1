/*
 * The page context of one image, with exactly the fields of PageContext in
 * backend/modelinput.py, each bounded. Context is what lets the model say what
 * a linked icon does rather than what it looks like, so it is collected with
 * care; every walk is capped so big pages stay cheap. What every image would
 * otherwise look up again is shared: the title and the list of headings until
 * the page's structure changes (main.js's MutationObservers call
 * pageChanged), heading and block texts and languages for one pass over many
 * images (main.js makes one pass per batch it sends).
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.context) return;

  const { FIELD_LIMITS, clean } = ns.text;
  const HEADING_SELECTOR = 'h1, h2, h3, h4, h5, h6, [role="heading" i]';
  const BLOCK = "p, li, figure, article, section, td, th, dd, blockquote, aside, header, footer, main, div";
  // An element right after the image, or right after its parent, whose class says caption,
  // credit or legend: one match tells whether caption() need look at the siblings at all.
  const CAPTION_CLASS = ':is([class*="caption" i], [class*="credit" i], [class*="legend" i])';
  const CAPTION_AFTER = `:has(+ ${CAPTION_CLASS}), :has(+ ${CAPTION_CLASS}) > *`;

  function textOf(node, limit) {
    return clean(node ? node.textContent : "", limit);
  }

  let structure = null; // {title, headings: root -> its headings in document order}, until the page changes

  function pageChanged() {
    structure = null;
  }

  /** Lookups shared by one pass over many images (text and attributes may change between passes). */
  function newPass() {
    if (!structure) structure = { title: clean(document.title, FIELD_LIMITS.page_title), headings: new Map() };
    return { structure, headingText: new Map(), lang: new Map(), blockText: new Map() };
  }

  function headingsOf(root, pass) {
    const known = pass.structure.headings;
    if (!known.has(root)) known.set(root, Array.from(root.querySelectorAll(HEADING_SELECTOR)));
    return known.get(root);
  }

  function langOf(el, pass) {
    const holder = el.closest("[lang]");
    const key = holder || document.documentElement;
    if (!pass.lang.has(key)) {
      const lang = (holder && holder.getAttribute("lang")) || document.documentElement.lang || "";
      pass.lang.set(key, clean(lang, FIELD_LIMITS.lang));
    }
    return pass.lang.get(key);
  }

  /**
   * The nearest heading before the element in document order (crossing out of
   * shadow roots): a binary search of the root's headings, since document
   * order puts every heading that precedes the element (ancestors included)
   * before every one that follows it.
   */
  function nearestHeading(el, pass, depth = 0) {
    const root = el.getRootNode();
    const headings = headingsOf(root, pass);
    let low = 0;
    let high = headings.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (el.compareDocumentPosition(headings[mid]) & Node.DOCUMENT_POSITION_PRECEDING) low = mid + 1;
      else high = mid;
    }
    if (low > 0) {
      const heading = headings[low - 1];
      if (!pass.headingText.has(heading)) pass.headingText.set(heading, textOf(heading, FIELD_LIMITS.heading));
      return pass.headingText.get(heading);
    }
    return root.host && depth < 4 ? nearestHeading(root.host, pass, depth + 1) : "";
  }

  function caption(el) {
    const figure = el.closest("figure");
    if (figure) {
      const figcaption = figure.querySelector("figcaption");
      if (figcaption) return textOf(figcaption, FIELD_LIMITS.caption);
    }
    const describedBy = el.getAttribute("aria-describedby");
    if (describedBy) {
      const root = el.getRootNode();
      for (const id of describedBy.split(/\s+/).filter(Boolean)) {
        const target = root.getElementById ? root.getElementById(id) : null;
        if (target && target.textContent.trim()) return textOf(target, FIELD_LIMITS.caption);
      }
    }
    // Caption-like text right after the image (or its wrapper).
    if (!el.matches(CAPTION_AFTER)) return "";
    for (const node of [el.nextElementSibling, el.parentElement && el.parentElement.nextElementSibling]) {
      if (node && /caption|credit|legend/i.test(node.className && String(node.className))) {
        return textOf(node, FIELD_LIMITS.caption);
      }
    }
    return "";
  }

  /**
   * The text of the nearest enclosing block with enough of it. Images in one
   * grid or list share their blocks, and a short caption sends every one of
   * them up to the whole list: each block's text is read once per pass.
   */
  function surroundingText(el, control, pass) {
    let node = (control || el).parentElement;
    for (let level = 0; node && level < 4; level++, node = node.parentElement) {
      let text = pass.blockText.get(node);
      if (text === undefined) {
        text = node.matches(BLOCK) ? clean(node.textContent, FIELD_LIMITS.surrounding_text) : "";
        pass.blockText.set(node, text);
      }
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

  /**
   * The last path segment of an http(s) or file URL. `src` is an element's
   * currentSrc or src, which the browser has already resolved and normalised,
   * so plain string work gives what a URL parse would, for less.
   */
  function fileName(src) {
    const match = /^(?:https?|file):\/\/[^/?#]*([^?#]*)/i.exec(src || "");
    if (!match) return "";
    const last = match[1].slice(match[1].lastIndexOf("/") + 1);
    if (!last.includes("%")) return clean(last, FIELD_LIMITS.file_name); // nothing to decode
    try {
      return clean(decodeURIComponent(last), FIELD_LIMITS.file_name);
    } catch (_) {
      return "";
    }
  }

  /** The picture's URL by kind (kind img is always an <img>, inputImage an <input>: detect.needsDescription). */
  function sourceUrl(el, kind) {
    if (kind === "img") return el.currentSrc || el.src || "";
    if (kind === "inputImage") return el.src || "";
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

  /**
   * PageContext fields for `el` (see backend/modelinput.py); `rect` is its box,
   * as measured by the caller; `src` its sourceUrl when the caller has read it.
   */
  function collect(el, kind, pass, rect, src = sourceUrl(el, kind)) {
    const control = controlInfo(el, kind);
    return {
      page_title: pass.structure.title,
      lang: langOf(el, pass),
      caption: caption(el),
      heading: nearestHeading(el, pass),
      surrounding_text: surroundingText(el, control.control, pass),
      control_role: control.role,
      control_text: control.text,
      control_href: control.href,
      only_content: control.onlyContent,
      file_name: fileName(src),
      width: Math.round(rect.width),
      height: Math.round(rect.height),
    };
  }

  ns.context = { pageChanged, newPass, collect, sourceUrl, fileName };
})();
