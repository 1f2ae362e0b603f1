"""A stand-in for the backend that answers POST /api/v1/describe with canned results (docs/api.md).

The screen-reader tests put the screen reader's behaviour under test, not the
model's: each image gets a fixed answer chosen by its file name (the
`context.file_name` the extension sends), so what Orca must say is known in
advance. An answer can be held back until the test releases it (a description
that arrives after the page loaded).
"""
from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def answer(description: str = "", *, confidence: float = 0.9, decorative: bool = False,
           low_confidence: bool = False, honest: bool = False) -> dict:
    """One result in the shape of docs/api.md (fields the extension reads and the rest)."""
    return {"description": "" if decorative else description, "decorative": decorative,
            "confidence": confidence, "low_confidence": low_confidence or honest, "honest": honest,
            "ocr_text": "", "model_version": "canned", "candidates": [], "cached": False}


def unexpected(file_name: str, context: dict) -> dict:
    """The answer for an image no test expected: loud, so that hearing it fails the test."""
    return answer(f"UNEXPECTED IMAGE {file_name}")


class CannedBackend:
    """`answers[file_name]` -> result, else `fallback(file_name, context)` (the context the extension
    sent); `hold(file_name)` keeps a request waiting until `release(file_name)`."""

    TOKEN = "canned-token"

    def __init__(self, answers: dict[str, dict], fallback=unexpected):
        self.answers = dict(answers)
        self.fallback = fallback
        self.requests: list[list[str]] = []  # file names per describe request
        self._held: dict[str, threading.Event] = {}
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
                self.end_headers()
                self.wfile.write(data)

            def do_OPTIONS(self):
                self._send(204, {})

            def do_GET(self):
                self._send(200, {"status": "ok"} if self.path.startswith("/api/v1/health") else {"error": "not found"})

            def do_POST(self):
                if self.path != "/api/v1/describe":
                    return self._send(404, {"error": "not found"})
                if self.headers.get("Authorization") != f"Bearer {backend.TOKEN}":
                    return self._send(401, {"error": "unauthorized"})
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                contexts = [item.get("context") or {} for item in body.get("images", [])]
                names = [context.get("file_name", "") for context in contexts]
                backend.requests.append(names)
                for name in names:
                    event = backend._held.get(name)
                    if event is not None:
                        event.wait(60)
                results = []
                for name, context in zip(names, contexts):
                    result = dict(backend.answers.get(name) or backend.fallback(name, context))
                    result["generation_id"] = uuid.uuid4().hex
                    results.append(result)
                self._send(200, {"results": results})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "CannedBackend":
        self._thread.start()
        return self

    def hold(self, file_name: str) -> None:
        self._held[file_name] = threading.Event()

    def release(self, file_name: str) -> None:
        self._held.pop(file_name).set()

    def asked_for(self, file_name: str) -> bool:
        return any(file_name in names for names in self.requests)

    def stop(self) -> None:
        for event in self._held.values():
            event.set()
        self.server.shutdown()
        self.server.server_close()
