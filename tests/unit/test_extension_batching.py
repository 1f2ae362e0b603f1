"""The extension's background batching (extension/background/describer.js), run in Node with a fake backend.

One describe request is out at a time; what arrives meanwhile goes in the next
one, up to the backend's limit of 32, without cutting a content-script message
in two when it would not fit whole; a message of images in view goes at once;
every item still gets its own answer, in order, and an image asked for twice
while in flight is sent once.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DESCRIBER = REPO / "extension" / "background" / "describer.js"

# The fake backend answers each request after `delayMs`; `onRequest(n)` runs as request n goes out.
HARNESS = r"""
require(process.argv[1]);
const { Describer } = globalThis.altlens;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const requests = [];
let out = 0, maxOut = 0;
const hooks = {};
const client = {
  RETRYABLE: new Set([0, 429, 502, 503, 504]),
  configured: () => true,
  async describe(settings, images) {
    out++; maxOut = Math.max(maxOut, out);
    requests.push(images.map((i) => i.context.caption));
    const delay = hooks.delayMs || 20;
    if (hooks.onRequest) hooks.onRequest(requests.length);
    await sleep(delay);
    out--;
    return { status: 200, body: { results: images.map((i) => ({ generation_id: "g", description: "d " + i.context.caption })) } };
  },
};
const describer = new Describer({
  client, session: null, loadSettings: async () => ({}),
  imageBytes: { base64Of: async () => "AAAA" },
});
const message = (name, n) => Array.from({ length: n }, (_, i) => ({ source: { url: `http://x/${name}${i}.png` }, context: { caption: `${name}${i}` } }));
const ask = (name, n, inView = false) => describer.describe(message(name, n), inView).then((answers) => ({ name, answers }));

async function main() {
  const scenario = process.argv[2];
  const asked = [];
  if (scenario === "while_out") {
    // m3a and m3b (10 each), then m4 (20), arrive one after another while the first request is out.
    hooks.delayMs = 2000;
    hooks.onRequest = async (n) => {
      if (n !== 1) return;
      hooks.delayMs = 20;
      for (const [name, size] of [["m3a", 10], ["m3b", 10], ["m4", 20]]) {
        asked.push(ask(name, size));
        await sleep(300);
      }
    };
    asked.push(ask("m1", 8));
  } else if (scenario === "in_view") {
    // A message of images in view, then 45 ms later (within the 60 ms a batch waits for more) another.
    asked.push(ask("seen", 2, true));
    await sleep(45);
    asked.push(ask("near", 3));
  } else if (scenario === "big_message") {
    asked.push(ask("big", 40));
  } else if (scenario === "duplicate") {
    hooks.delayMs = 300;
    asked.push(ask("a", 3));
    await sleep(100);
    asked.push(describer.describe(message("a", 1)).then((answers) => ({ name: "again", answers })));
  }
  await sleep(1000);
  const done = [];
  while (asked.length > done.length) done.push(await asked[done.length]);
  console.log(JSON.stringify({ requests, maxOut, answers: Object.fromEntries(done.map((d) => [d.name, d.answers.map((a) => a.ok && a.result.description)])) }));
}
main();
"""


def run(scenario: str) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: `make test` installs it with the extension tooling")
    out = subprocess.run([node, "-e", HARNESS, str(DESCRIBER), scenario], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_items_arriving_while_a_request_is_out_go_together_in_the_next_one():
    got = run("while_out")
    assert got["maxOut"] == 1
    assert got["requests"][0] == [f"m1{i}" for i in range(8)]
    # m3a + m3b fit (20); m4 would not fit whole beside them, so it waits for the request after.
    assert got["requests"][1:] == [[f"m3a{i}" for i in range(10)] + [f"m3b{i}" for i in range(10)],
                                   [f"m4{i}" for i in range(20)]]
    assert got["answers"]["m3b"] == [f"d m3b{i}" for i in range(10)]
    assert got["answers"]["m4"] == [f"d m4{i}" for i in range(20)]


def test_a_message_of_images_in_view_goes_at_once_without_gathering_others():
    got = run("in_view")
    assert got["requests"] == [["seen0", "seen1"], ["near0", "near1", "near2"]]
    assert got["answers"]["near"] == [f"d near{i}" for i in range(3)]


def test_a_message_larger_than_the_limit_is_split_at_the_limit():
    got = run("big_message")
    assert [len(r) for r in got["requests"]] == [32, 8]
    assert got["answers"]["big"] == [f"d big{i}" for i in range(40)]


def test_an_image_asked_for_again_while_in_flight_is_sent_once():
    got = run("duplicate")
    assert got["requests"] == [["a0", "a1", "a2"]]
    assert got["answers"]["again"] == ["d a0"]
