/*
 * Writing descriptions where assistive technology reads them, and undoing it.
 *
 * alt for <img>; aria-label for input type=image, role=img and <svg>.
 * Decorative images get alt="" (or aria-hidden for non-img). The attributes
 * as the page had them are kept (in the content script's world, out of the
 * page's reach) so that turning the extension off for a site restores them.
 * Only setAttribute/removeAttribute: never markup.
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.apply) return;

  const MARK = "data-altlens";
  const originals = new WeakMap(); // element -> {saved: {attr: value|null}, written: {attr: value}}

  function remember(el, attr) {
    let state = originals.get(el);
    if (!state) {
      state = { saved: {}, written: {} };
      originals.set(el, state);
    }
    if (!(attr in state.saved)) state.saved[attr] = el.getAttribute(attr); // null when absent
    return state;
  }

  function set(el, attr, value) {
    const state = remember(el, attr);
    state.written[attr] = value;
    el.setAttribute(attr, value);
    ns.reread.soon(); // a screen reader may hold what it read before this name (reread.js)
  }

  /** Prefix that tells a listener the text is generated (see DESIGN.md §1: low confidence must show). */
  function prefixFor(result, settings) {
    if (result.honest) return ""; // "No description available" is said as it is, never "Possibly: ..."
    if (result.low_confidence) return "Possibly: ";
    return settings.prefixAll ? "Generated: " : "";
  }

  function nameAttr(kind) {
    return kind === "img" ? "alt" : "aria-label";
  }

  /** Put `text` on the element as its name. status: generated | corrected. */
  function writeName(el, kind, text, status) {
    if (kind === "svg" && !el.hasAttribute("role")) set(el, "role", "img");
    set(el, nameAttr(kind), text);
    set(el, MARK, status);
  }

  function writeDecorative(el, kind) {
    if (kind === "img") set(el, "alt", "");
    else set(el, "aria-hidden", "true");
    set(el, MARK, "decorative");
  }

  /**
   * Apply a backend result. Controls (only content of a link/button, inputs)
   * are never made decorative: that would leave the control without a name.
   * Returns the status written, or "empty" when there was nothing to write.
   */
  function applyResult(el, kind, result, settings, context) {
    const control = kind === "inputImage" || (context && context.only_content);
    if (result.decorative && !control) {
      writeDecorative(el, kind);
      return { status: "decorative", text: "" };
    }
    const description = ns.text.clean(result.description, ns.text.DESCRIPTION_LIMIT);
    if (!description) return { status: "empty", text: "" };
    const text = prefixFor(result, settings) + description;
    writeName(el, kind, text, "generated");
    return { status: "generated", text };
  }

  /** True when the attribute holds what we wrote (so a mutation was ours). */
  function isOurs(el, attr) {
    const state = originals.get(el);
    return Boolean(state && attr in state.written && el.getAttribute(attr) === state.written[attr]);
  }

  function touched(el) {
    return originals.has(el);
  }

  /** Put back the page's own attributes. */
  function restore(el) {
    const state = originals.get(el);
    if (!state) return;
    for (const [attr, value] of Object.entries(state.saved)) {
      if (value === null) el.removeAttribute(attr);
      else el.setAttribute(attr, value);
    }
    originals.delete(el);
    ns.reread.soon();
  }

  /** Forget our copy without touching the element (the page changed it itself). */
  function forget(el) {
    originals.delete(el);
  }

  ns.apply = { MARK, applyResult, writeName, writeDecorative, isOurs, touched, restore, forget, nameAttr };
})();
