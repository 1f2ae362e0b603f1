/*
 * Text cleaning and the size bounds of PageContext fields. The limits mirror
 * backend/modelinput.py FIELD_LIMITS; the backend bounds again, these only keep
 * requests small and stop a page from making us carry megabytes of text.
 */
(function () {
  "use strict";
  const ns = (globalThis.altlens = globalThis.altlens || {});
  if (ns.text) return;

  const FIELD_LIMITS = Object.freeze({
    page_title: 120,
    lang: 16,
    caption: 200,
    heading: 120,
    surrounding_text: 300,
    control_text: 120,
    control_href: 120,
    control_role: 16,
    file_name: 80,
  });
  const DESCRIPTION_LIMIT = 500;

  // eslint-disable-next-line no-control-regex
  const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd]/g;

  // Printable ASCII, single spaces between words, none at the ends: already what clean() makes.
  const ALREADY_CLEAN = /^(?:[!-~]+(?: [!-~]+)*)?$/;

  function clean(value, limit) {
    if (value === null || value === undefined) return "";
    let text = String(value);
    if (text.length <= limit && ALREADY_CLEAN.test(text)) return text; // most page text: skip the work
    // Only look at a bounded prefix: a page can hold megabytes of text.
    if (text.length > limit * 8 + 64) text = text.slice(0, limit * 8 + 64);
    text = text.normalize("NFC").replace(CONTROL_CHARS, " ").replace(/\s+/g, " ").trim();
    return text.slice(0, limit).trim();
  }

  ns.text = { FIELD_LIMITS, DESCRIPTION_LIMIT, clean };
})();
