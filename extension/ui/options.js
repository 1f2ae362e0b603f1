/*
 * The options page: read the settings into the form, save them back, and
 * test the connection through the background (which owns all backend calls).
 */
(function () {
  "use strict";
  const { browser, settings: settingsLib } = globalThis.altlens;
  const $ = (id) => document.getElementById(id);

  function say(message) {
    $("status").textContent = "";
    setTimeout(() => { $("status").textContent = message; }, 30);
  }

  function fill(s) {
    $("backend-url").value = s.backendUrl;
    $("token").value = s.token;
    $("enabled").checked = s.enabled;
    $("disabled-sites").value = s.disabledSites.join("\n");
    for (const kind of settingsLib.KINDS) $(`kind-${kind}`).checked = s.kinds[kind];
    $(`announce-${s.announce}`).checked = true;
    $("prefix-all").checked = s.prefixAll;
  }

  function read() {
    const kinds = {};
    for (const kind of settingsLib.KINDS) kinds[kind] = $(`kind-${kind}`).checked;
    const announce = document.querySelector('input[name="announce"]:checked');
    return {
      backendUrl: $("backend-url").value.trim(),
      token: $("token").value.trim(),
      enabled: $("enabled").checked,
      disabledSites: $("disabled-sites").value.split(/\s+/).map((s) => s.trim()).filter(Boolean),
      kinds,
      announce: announce ? announce.value : "summary",
      prefixAll: $("prefix-all").checked,
    };
  }

  const CONNECTION = {
    unreachable: "The server cannot be reached at that address.",
    bad_url: "The server address must start with http:// or https://.",
    no_token: "The server answers, but no token is set.",
    token_rejected: "The server answers, but it rejected the token.",
  };

  async function testConnection() {
    say("Testing the connection…");
    const values = read();
    const reply = await browser.sendMessage({ type: "testConnection", backendUrl: values.backendUrl, token: values.token });
    if (reply && reply.ok) {
      say(`Connected: the server accepted the token (model ${reply.version || "unknown"}).`);
    } else {
      const code = reply && reply.error;
      say(CONNECTION[code] || `Connection failed (${code || "no answer"}).`);
    }
  }

  async function main() {
    fill(await settingsLib.load());
    $("form").addEventListener("submit", async (event) => {
      event.preventDefault();
      fill(await settingsLib.save(read()));
      say("Settings saved.");
    });
    $("test-connection").addEventListener("click", testConnection);
    document.body.dataset.ready = "true";
  }

  main().catch((error) => say("Settings could not load: " + String(error)));
})();
