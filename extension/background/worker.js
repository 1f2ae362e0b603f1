/*
 * The background: message routing between content scripts, the popup /
 * feedback window and the backend; the context menu and keyboard command.
 * Kept thin: the work is in describer.js, tab_items.js and backend_client.js.
 *
 * Messages (all {type, ...}):
 *   content -> bg: describe {items:[{itemId, source, context, kind}]}, frameStart, frameStop,
 *                  openFeedback {itemId}
 *   pages   -> bg: listItems {tabId}, sendFeedback {tabId, itemId, feedback},
 *                  applyCorrection {tabId, itemId, text}, testConnection {backendUrl, token}
 *   bg -> content: setDescription {itemId, text}, openFeedbackFocused, openFeedbackContextMenu
 */
(function () {
  "use strict";
  const ns = globalThis.altlens;
  const { browser, settings: settingsLib, backendClient, imageBytes, text } = ns;

  const describer = new ns.Describer({
    client: backendClient,
    imageBytes,
    session: browser.storageSession,
    loadSettings: settingsLib.load,
  });
  const tabItems = new ns.TabItems(browser.storageSession);
  const MENU_ID = "altlens-feedback";
  let lastOpen = { tabId: -1, itemId: "", at: 0 };

  /** What the content script writes into the page; the rest (candidates, ids) stays here, in tabItems. */
  function forPage(result) {
    return { description: result.description, decorative: result.decorative, low_confidence: result.low_confidence,
             honest: Boolean(result.honest) };
  }

  async function handleDescribe(message, sender) {
    const tab = sender.tab;
    if (!tab || !Array.isArray(message.items)) return { ok: false, error: "bad_request" };
    const items = message.items.filter((i) => i && i.source && i.context && typeof i.itemId === "string");
    const answers = await describer.describe(items, message.inView === true);
    const results = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const answer = answers[i];
      results.push(Object.assign({ itemId: item.itemId }, answer, answer.ok ? { result: forPage(answer.result) } : {}));
      if (answer.ok && answer.result && answer.result.generation_id && !answer.result.decorative && answer.result.description) {
        await tabItems.add(tab.id, {
          itemId: item.itemId,
          frameId: sender.frameId || 0,
          kind: item.kind || "img",
          generationId: answer.result.generation_id,
          description: answer.result.description,
          lowConfidence: Boolean(answer.result.low_confidence) && !answer.result.honest,
          candidates: Array.isArray(answer.result.candidates) ? answer.result.candidates.slice(0, 8) : [],
          fileName: item.context.file_name || "",
          controlRole: item.context.control_role || "",
          corrected: "",
        });
      }
    }
    return { ok: true, results };
  }

  async function openFeedback(tabId, itemId) {
    const now = Date.now();
    if (lastOpen.tabId === tabId && lastOpen.itemId === itemId && now - lastOpen.at < 1500) return { ok: true };
    lastOpen = { tabId, itemId, at: now };
    if (!(await tabItems.get(tabId, itemId))) return { ok: false, error: "no_item" };
    const query = new URLSearchParams({ tab: String(tabId), item: itemId });
    await browser.openExtensionWindow("ui/panel.html?" + query.toString());
    return { ok: true };
  }

  /** Validate a feedback message from our own pages and post it. */
  async function sendFeedback(message) {
    const record = await tabItems.get(message.tabId, message.itemId);
    if (!record) return { ok: false, error: "no_item" };
    const f = message.feedback || {};
    const payload = { generation_id: record.generationId, kind: f.kind };
    if (f.kind === "rate" && (f.rating === "up" || f.rating === "down")) payload.rating = f.rating;
    else if (f.kind === "correct" && text.clean(f.text, text.DESCRIPTION_LIMIT)) payload.text = text.clean(f.text, text.DESCRIPTION_LIMIT);
    else if (f.kind === "pick" && Number.isInteger(f.candidateIndex)) payload.candidate_index = f.candidateIndex;
    else if (f.kind === "choose" && Array.isArray(f.shown) && f.shown.length === 2 && Number.isInteger(f.chosenIndex)) {
      payload.shown = f.shown.map(String);
      payload.chosen_index = f.chosenIndex;
    } else return { ok: false, error: "bad_feedback" };
    const settings = await settingsLib.load();
    if (!backendClient.configured(settings)) return { ok: false, error: "not_configured" };
    const res = await backendClient.feedback(settings, payload);
    if (res.status === 201 || res.status === 200) {
      return { ok: true, pairsCreated: (res.body && res.body.pairs_created) || 0 };
    }
    const error = res.status === 0 ? "backend_unavailable" : (res.body && res.body.error && res.body.error.code) || `http_${res.status}`;
    return { ok: false, error, status: res.status };
  }

  async function applyCorrection(message) {
    const record = await tabItems.get(message.tabId, message.itemId);
    if (!record) return { ok: false, error: "no_item" };
    const clean = text.clean(message.text, text.DESCRIPTION_LIMIT);
    const reply = await browser.sendToTab(message.tabId, { type: "setDescription", itemId: message.itemId, text: clean }, record.frameId);
    await tabItems.update(message.tabId, message.itemId, { corrected: clean });
    return reply || { ok: false, error: "tab_gone" };
  }

  async function testConnection(message) {
    const settings = settingsLib.normalise({ backendUrl: message.backendUrl, token: message.token });
    if (!/^https?:\/\//i.test(settings.backendUrl)) return { ok: false, error: "bad_url" };
    const health = await backendClient.health(settings);
    if (health.status !== 200) return { ok: false, error: health.status === 0 ? "unreachable" : `http_${health.status}` };
    const model = await backendClient.model(settings);
    const version = model.body && model.body.version ? String(model.body.version) : "";
    if (!settings.token) return { ok: false, error: "no_token", version };
    const auth = await backendClient.checkToken(settings);
    if (auth.status === 401 || auth.status === 403) return { ok: false, error: "token_rejected", version };
    return { ok: true, version };
  }

  browser.onMessage((message, sender) => {
    if (!message || typeof message.type !== "string") return undefined;
    const fromExtensionPage = (sender.url || "").startsWith(browser.getURL(""));
    switch (message.type) {
      case "describe":
        return handleDescribe(message, sender);
      case "frameStart":
      case "frameStop":
        return sender.tab ? tabItems.clearFrame(sender.tab.id, sender.frameId || 0).then(() => ({ ok: true })) : undefined;
      case "openFeedback":
        return sender.tab ? openFeedback(sender.tab.id, String(message.itemId)) : undefined;
      default:
        break;
    }
    if (!fromExtensionPage) return undefined; // only our own pages may do the rest
    switch (message.type) {
      case "listItems":
        return tabItems.list(Number(message.tabId)).then((items) => ({ ok: true, items }));
      case "sendFeedback":
        return sendFeedback(Object.assign({}, message, { tabId: Number(message.tabId) }));
      case "applyCorrection":
        return applyCorrection(Object.assign({}, message, { tabId: Number(message.tabId) }));
      case "testConnection":
        return testConnection(message);
      default:
        return undefined;
    }
  });

  if (browser.tabs) browser.tabs.onRemoved.addListener((tabId) => tabItems.forgetTab(tabId));

  if (browser.menus) {
    browser.onInstall(() => {
      browser.createMenu({ id: MENU_ID, title: "altlens: review this image description", contexts: ["image", "link"] });
    });
    browser.menus.onClicked.addListener((info, tab) => {
      if (info.menuItemId !== MENU_ID || !tab) return;
      browser.sendToTab(tab.id, { type: "openFeedbackContextMenu", targetElementId: info.targetElementId }, info.frameId);
    });
  }

  if (browser.commands) {
    browser.commands.onCommand.addListener((command, tab) => {
      if (command !== "open-feedback") return;
      const send = (t) => t && browser.sendToTab(t.id, { type: "openFeedbackFocused" });
      if (tab) send(tab);
      else browser.tabs.query({ active: true, currentWindow: true }).then((tabs) => send(tabs[0]), () => {});
    });
  }
})();
