/*
 * Which elements lack a text alternative, and which of those are tiny or
 * hidden enough to settle locally. Pure functions of the DOM; no state.
 *
 * An author's real alt is never overridden. alt="" is the author saying
 * "decorative" and is respected, except when the image is the only content of
 * a link or button, where it leaves the control without a name.
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.detect) return;

  const PLACEHOLDER = new Set([
    "image", "img", "images", "photo", "photograph", "picture", "pic", "graphic", "icon", "logo",
    "untitled", "placeholder", "alt", "alt text", "alttext", "spacer", "blank", "null", "undefined",
    "none", "thumbnail", "thumb", "banner", "screenshot", "figure", "image description",
  ]);
  const FILE_NAME = /^[^\s/\\]{1,200}\.(png|jpe?g|gif|webp|avif|svg|bmp|ico|tiff?|heic)$/i;
  const CAMERA_NAME = /^(img|dsc|dscn|dcim|pxl|screenshot|screen shot|image|photo)[\s_-]*\d[\w\s-]*$/i;
  const HASH_LIKE = /^[0-9a-f_-]{12,}$/i;
  const CONTROL_SELECTOR = 'a[href], button, [role="button"], [role="link"]';
  const HIDDEN_SELECTOR = '[aria-hidden="true"], [hidden]';
  const CANDIDATE_SELECTOR = 'img, input[type="image" i], svg, [role="img" i]';
  // Candidates on or inside an element that hiddenFromAT stops at, within one tree.
  const HIDDEN_CANDIDATE_SELECTOR =
    `:is(${HIDDEN_SELECTOR}) :is(${CANDIDATE_SELECTOR}), :is(${CANDIDATE_SELECTOR}):is(${HIDDEN_SELECTOR})`;
  // Every attribute presentational() and ariaName() read: without any of them, both say no.
  const NAMING_SELECTOR = "[role], [aria-label], [aria-labelledby], [title]";

  /** A bad alt: a placeholder word, a file name, a camera name or a hash. */
  function isPlaceholderAlt(alt, src) {
    const value = alt.trim().toLowerCase();
    if (!value) return false;
    if (PLACEHOLDER.has(value.replace(/[.:\s]+$/, ""))) return true;
    if (FILE_NAME.test(value) || CAMERA_NAME.test(value) || HASH_LIKE.test(value)) return true;
    const base = fileBase(src);
    return base !== "" && value === base;
  }

  function fileBase(src) {
    try {
      const u = new URL(src, document.baseURI);
      if (u.protocol !== "http:" && u.protocol !== "https:" && u.protocol !== "file:") return "";
      const last = decodeURIComponent(u.pathname.split("/").pop() || "");
      return last.replace(/\.[a-z0-9]{2,5}$/i, "").toLowerCase();
    } catch (_) {
      return "";
    }
  }

  function labelledByText(el) {
    const value = el.getAttribute("aria-labelledby");
    if (!value) return ""; // most elements: no list to split
    const ids = value.split(/\s+/).filter(Boolean);
    if (!ids.length) return "";
    const root = el.getRootNode();
    const parts = [];
    for (const id of ids) {
      const target = root.getElementById ? root.getElementById(id) : document.getElementById(id);
      if (target) parts.push(target.textContent || "");
    }
    return parts.join(" ").trim();
  }

  /** The author-given name from ARIA or title (not alt, not content). */
  function ariaName(el) {
    return (
      (el.getAttribute("aria-label") || "").trim() ||
      labelledByText(el) ||
      (el.getAttribute("title") || "").trim()
    );
  }

  /**
   * aria-hidden="true" or hidden on the element or an ancestor, crossing out
   * of shadow roots: one closest() per tree, not attribute reads per ancestor.
   * A match is checked as before (hidden counts on HTML elements only).
   */
  function hiddenFromAT(el) {
    for (let node = el; node && node.nodeType === 1;) {
      const found = node.closest(HIDDEN_SELECTOR);
      if (!found) {
        node = hostOf(node);
        continue;
      }
      if (found.getAttribute("aria-hidden") === "true" || found.hidden) return true;
      node = found.parentElement || hostOf(found);
    }
    return false;
  }

  function hostOf(node) {
    const root = node.getRootNode && node.getRootNode();
    return root && root.host ? root.host : null;
  }

  function presentational(el) {
    const role = (el.getAttribute("role") || "").trim().toLowerCase();
    return role === "presentation" || role === "none";
  }

  function enclosingControl(el) {
    const control = el.closest(CONTROL_SELECTOR);
    return control && control !== el ? control : null;
  }

  /** Text a control has apart from the image: its own name or visible text. */
  function controlOwnText(control, except) {
    const named = ariaName(control);
    if (named) return named;
    let text = "";
    const walker = document.createTreeWalker(control, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    let steps = 0;
    for (let node = walker.nextNode(); node && steps < 500; node = walker.nextNode(), steps++) {
      if (node.nodeType === 3) {
        text += node.nodeValue;
      } else if (node !== except && node.tagName === "IMG" && node.alt && node.alt.trim()) {
        text += " " + node.alt;
      }
      if (text.length > 200) break;
    }
    return text.replace(/\s+/g, " ").trim();
  }

  /** presentational(el) || ariaName(el); one selector match settles the many elements with none of their attributes. */
  function namedOrPresentational(el) {
    return el.matches(NAMING_SELECTOR) && Boolean(presentational(el) || ariaName(el));
  }

  /**
   * Why an element needs a description, or null when it does not.
   * Returns {kind, reason} with kind one of img | inputImage | roleImg | svg.
   * `notHidden`: the caller already knows hiddenFromAT(el) is false (see
   * candidatesIn).
   */
  function needsDescription(el, kinds, notHidden = false) {
    if (!el || el.nodeType !== 1 || (!notHidden && hiddenFromAT(el))) return null;
    const tag = el.localName;
    if (tag === "img") {
      if (!kinds.img || namedOrPresentational(el)) return null;
      if (!el.hasAttribute("alt")) return { kind: "img", reason: "missing" };
      const alt = el.getAttribute("alt");
      if (alt.trim() === "") {
        const control = enclosingControl(el);
        return control && !controlOwnText(control, el) ? { kind: "img", reason: "empty-in-control" } : null;
      }
      return isPlaceholderAlt(alt, el.getAttribute("src") || "") ? { kind: "img", reason: "placeholder" } : null;
    }
    if (tag === "input" && (el.getAttribute("type") || "").toLowerCase() === "image") {
      if (!kinds.inputImage) return null;
      const alt = (el.getAttribute("alt") || "").trim();
      if (ariaName(el) || (alt && !isPlaceholderAlt(alt, el.getAttribute("src") || ""))) return null;
      return { kind: "inputImage", reason: alt ? "placeholder" : "missing" };
    }
    if (tag === "svg") {
      if (!kinds.svg || namedOrPresentational(el)) return null;
      if (el.parentElement && el.parentElement.closest("svg")) return null;
      const title = el.querySelector(":scope > title");
      if (title && title.textContent.trim()) return null;
      const isImg = (el.getAttribute("role") || "").toLowerCase() === "img";
      const control = enclosingControl(el);
      if (control) {
        return !controlOwnText(control, el) ? { kind: "svg", reason: "only-content" } : null;
      }
      return isImg ? { kind: "svg", reason: "missing" } : null;
    }
    if ((el.getAttribute("role") || "").toLowerCase() === "img") {
      if (!kinds.roleImg || ariaName(el)) return null;
      return { kind: "roleImg", reason: "missing" };
    }
    return null;
  }

  /**
   * False for display: none and visibility: hidden or collapse. One call where
   * checkVisibility exists (Chrome 121+, Firefox 122+; it also says false with
   * no box at all, or inside content-visibility: hidden, where nothing shows
   * either), else the computed style.
   */
  function rendered(el) {
    if (typeof el.checkVisibility === "function") return el.checkVisibility({ visibilityProperty: true });
    const style = getComputedStyle(el);
    if (style.display === "none") return false;
    const visibility = style.visibility;
    return visibility !== "hidden" && visibility !== "collapse";
  }

  // Decorative by rule, where authors and WCAG agree (W3C alt decision tree), before any request:
  const SMALL_SIDE = 12;  // both sides at most this (CSS px): a corner, bullet or dot carries no meaning alone
  const THIN_SIDE = 4;    // one side at most this: a rule, border or spacer strip
  const REPEAT_SIDE = 32; // the same image at most this large ...
  const REPEAT_MIN = 3;   // ... this many times on the page is layout: list bullets, separators

  /**
   * Settle an element without the backend when possible.
   * "hidden": not rendered now (checked again when it becomes visible);
   * "small", "redundant", "repeated": decorative by rule (see the constants above;
   * "redundant": inside a link or button that has its own text, which already
   * names it, so a name for the image would be read twice); null: ask the backend.
   * No rule makes a control's only content decorative: the control would lose its name.
   * `rect` is the element's box as its caller measured it (main.js: the
   * IntersectionObserver's); `timesOnPage(src)` says how often an image source
   * appears in the document.
   */
  function localClass(el, kind, rect, timesOnPage) {
    if (!rendered(el)) return "hidden";
    const { width, height } = rect;
    if (width === 0 && height === 0) return "hidden";
    if (kind !== "img") return null; // kind img: an <img> (needsDescription)
    const control = enclosingControl(el);
    if (control) {
      if (!controlOwnText(control, el)) return null; // the control's only content: it must be named
      return "redundant";
    }
    const natural = el.complete && el.naturalWidth > 0 ? Math.min(el.naturalWidth, el.naturalHeight) : Infinity;
    if (Math.min(width, height) <= THIN_SIDE || Math.max(width, height) <= SMALL_SIDE || natural <= 2) return "small";
    const src = el.currentSrc || el.src;
    if (Math.max(width, height) <= REPEAT_SIDE && src && timesOnPage(src) >= REPEAT_MIN) return "repeated";
    return null;
  }

  /**
   * The candidates under `root` (a document, shadow root or element), each
   * with whether hiddenFromAT is already known to be false for it: two queries
   * for the lot instead of a walk up from each. Only a candidate on or inside
   * an aria-hidden or hidden element of this tree, or under a hidden host,
   * can be hidden, and those are left to needsDescription to check.
   */
  function candidatesIn(root) {
    const tree = root.getRootNode();
    if (tree.host && hiddenFromAT(tree.host)) return [];
    const maybeHidden = root.querySelectorAll(HIDDEN_CANDIDATE_SELECTOR);
    const suspects = maybeHidden.length ? new Set(maybeHidden) : null;
    return Array.from(root.querySelectorAll(CANDIDATE_SELECTOR), (el) => [el, !suspects || !suspects.has(el)]);
  }

  ns.detect = {
    candidatesIn,
    hiddenFromAT,
    CONTROL_SELECTOR,
    isPlaceholderAlt,
    ariaName,
    enclosingControl,
    controlOwnText,
    needsDescription,
    localClass,
    CANDIDATE_SELECTOR,
  };
})();
