/*
 * Chrome's service-worker entry. Firefox loads the same files through
 * manifest background.scripts instead, so this file only lists them.
 */
importScripts(
  "/lib/browser_api.js", "/lib/settings.js", "/lib/text.js",
  "/background/backend_client.js", "/background/image_bytes.js", "/background/describer.js",
  "/background/tab_items.js", "/background/worker.js"
);
