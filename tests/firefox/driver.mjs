// A Firefox with the unpacked extension, driven over WebDriver BiDi and
// controlled by pytest through JSON lines on stdin/stdout.
//
// Why a line protocol instead of one script per scenario: the Python tests
// must stop and restart the backend mid-scenario and read the database between
// steps, so the browser has to stay alive while Python decides what happens
// next. Every request is {"id", "cmd", ...args}; every reply is
// {"id", "ok": result} or {"id", "error": message}. Logs go to stderr.
//
// Why the profile is seeded on disk: WebDriver BiDi in Firefox refuses to
// navigate to moz-extension:// pages and exposes no extension realm, so the
// test configuration (backend URL, token) cannot be typed into the options
// page. With the IndexedDB backend of storage.local turned off, Firefox keeps
// an extension's storage.local in <profile>/browser-extension-data/<id>/storage.js,
// which we write before launch; the extension then reads it through the very
// same storage.local API that the options page writes to.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import puppeteer from "puppeteer-core";

const FIREFOX = process.env.FIREFOX_BIN || "/usr/bin/firefox-esr";

let browser = null;
let page = null; // the page commands act on: "main" (the test page) unless selected otherwise
const pages = {};
let profileDir = null;
let errors = [];

function log(...args) {
  process.stderr.write(`[driver] ${args.join(" ")}\n`);
}

function watch(p) {
  // Console errors from the page and from content scripts, and uncaught exceptions, both arrive here.
  p.on("console", (m) => {
    if (m.type() === "error" || m.type() === "assert") errors.push({kind: "console", text: m.text()});
  });
  p.on("pageerror", (e) => errors.push({kind: "pageerror", text: String(e && e.message ? e.message : e)}));
}

function manifestId(extDir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(extDir, "manifest.json"), "utf8"));
  const id = manifest.browser_specific_settings?.gecko?.id;
  if (!id) throw new Error("manifest has no browser_specific_settings.gecko.id; Firefox needs one");
  return id;
}

/** Quote a value for puppeteer's ARIA selector, which cannot escape the quote it uses. */
function ariaValue(value) {
  if (!value.includes('"')) return `"${value}"`;
  if (!value.includes("'")) return `'${value}'`;
  throw new Error(`accessible name contains both quote kinds: ${value}`);
}

const commands = {
  async launch({ext_dir, storage = {}}) {
    const extId = manifestId(ext_dir);
    profileDir = fs.mkdtempSync(path.join(os.tmpdir(), "altlens-ff-"));
    const dataDir = path.join(profileDir, "browser-extension-data", extId);
    fs.mkdirSync(dataDir, {recursive: true});
    fs.writeFileSync(path.join(dataDir, "storage.js"), JSON.stringify(storage));
    browser = await puppeteer.launch({
      browser: "firefox",
      executablePath: FIREFOX,
      headless: true,
      userDataDir: profileDir,
      extraPrefsFirefox: {"extensions.webextensions.ExtensionStorageIDB.enabled": false},
    });
    const installed = await browser.installExtension(ext_dir);
    // A new tab brought to the front: the tab Firefox starts with does not get
    // window focus (document.hasFocus() stays false), and without focus Enter
    // and Space on a focused button do not activate it.
    const initial = await browser.pages();
    page = await browser.newPage();
    await page.bringToFront();
    for (const blank of initial) await blank.close();
    pages.main = page;
    watch(page);
    return {extension_id: installed, version: await browser.version()};
  },

  async goto({url}) {
    errors = [];
    await page.goto(url, {waitUntil: "load"});
    return page.url();
  },

  async eval({expr}) {
    return await page.evaluate(expr);
  },

  async wait_for({expr, timeout_ms = 15000}) {
    const handle = await page.waitForFunction(expr, {timeout: timeout_ms, polling: 100});
    return await handle.jsonValue();
  },

  /** Elements the accessibility tree exposes with this role and/or name, described by their DOM. */
  async ax_nodes({role = null, name = null}) {
    let selector = "";
    if (name !== null) selector += `[name=${ariaValue(name)}]`;
    if (role !== null) selector += `[role=${ariaValue(role)}]`;
    const handles = await page.$$(`::-p-aria(${selector})`);
    const out = [];
    for (const h of handles) {
      out.push(await h.evaluate((el) => ({
        tag: el.localName,
        id: el.id || el.closest("[id]")?.id || "",
        own_id: el.id || "",
        alt: el.getAttribute("alt"),
        aria_label: el.getAttribute("aria-label"),
      })));
      await h.dispose();
    }
    return out;
  },

  /**
   * Wait for a page (tab or window) whose location contains `url_contains`, and name it.
   * Firefox reports windows that an extension opens on its own moz-extension:// pages
   * with the URL about:blank, so the location is read from inside each page.
   */
  async wait_page({name, url_contains, timeout_ms = 15000}) {
    const known = new Set(Object.values(pages));
    const deadline = Date.now() + timeout_ms;
    while (Date.now() < deadline) {
      for (const candidate of await browser.pages()) {
        if (known.has(candidate)) continue;
        const href = await candidate.evaluate(() => location.href).catch(() => "");
        if (href.includes(url_contains)) {
          watch(candidate);
          pages[name] = candidate;
          return href;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no page with ${url_contains} in its URL opened in ${timeout_ms} ms`);
  },

  /** Make later commands act on the page named `name` ("main" is the test page). */
  async use_page({name}) {
    if (!pages[name]) throw new Error(`no page named ${name}`);
    page = pages[name];
    await page.bringToFront();
    return page.url();
  },

  /** Press a chord such as "Alt+Shift+D", or a single key such as "Tab". */
  async press({keys}) {
    const parts = keys.split("+");
    const key = parts.pop();
    for (const mod of parts) await page.keyboard.down(mod);
    await page.keyboard.press(key);
    for (const mod of parts.reverse()) await page.keyboard.up(mod);
    return true;
  },

  async type({text}) {
    await page.keyboard.type(text);
    return true;
  },

  async errors() {
    return errors;
  },

  async close() {
    if (browser) await browser.close();
    browser = null;
    if (profileDir) fs.rmSync(profileDir, {recursive: true, force: true});
    profileDir = null;
    return true;
  },
};

const rl = readline.createInterface({input: process.stdin});
for await (const line of rl) {
  if (!line.trim()) continue;
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    process.stdout.write(JSON.stringify({id: null, error: `bad request: ${e.message}`}) + "\n");
    continue;
  }
  const {id, cmd, ...args} = req;
  try {
    if (!commands[cmd]) throw new Error(`unknown command ${cmd}`);
    const result = await commands[cmd](args);
    process.stdout.write(JSON.stringify({id, ok: result ?? null}) + "\n");
  } catch (e) {
    log(cmd, "failed:", e.stack || e);
    process.stdout.write(JSON.stringify({id, error: String(e.message || e)}) + "\n");
  }
  if (cmd === "close") break;
}
await commands.close().catch(() => {});
process.exit(0);
