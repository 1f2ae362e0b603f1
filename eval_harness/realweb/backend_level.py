"""The backend level: each record's image and page context through ``POST /api/v1/describe``.

The same request the extension makes (JSON, base64 bytes, the context object of
docs/api.md), to the real backend, so validation, OCR, the model and the
confidence policy are all the served ones. SVG files are not sent: the backend
refuses SVG bytes by design and the extension rasterises them in the page, so
they are judged at the page level only.
"""
from __future__ import annotations

import base64
import logging
import sys
import time
from typing import Sequence

import requests

from eval_harness.realweb.judge import Answer
from eval_harness.realweb.records import Record, page_context

log = logging.getLogger("altlens.realweb")
NOT_SENT_SVG = "not sent: SVG (the page level rasterises it)"


def _request_item(record: Record) -> dict:
    return {"image": base64.b64encode(record.image_path.read_bytes()).decode("ascii"),
            "context": page_context(record).to_dict()}


def _answer(record: Record, result: dict) -> Answer:
    return Answer(record.id, text=result.get("description") or "", decorative=bool(result.get("decorative")),
                  written=True, low_confidence=bool(result.get("low_confidence")),
                  confidence=float(result.get("confidence") or 0.0), ocr_text=result.get("ocr_text") or "",
                  note="cached" if result.get("cached") else "")


def _post(session: requests.Session, url: str, items: list[dict]) -> requests.Response:
    """One describe request, waiting out 429/503 as the extension does (Retry-After)."""
    for _attempt in range(6):
        response = session.post(url, json={"images": items}, timeout=300)
        if response.status_code not in (429, 503):
            return response
        time.sleep(float(response.headers.get("Retry-After", "1") or 1))
    return response


def describe_records(records: Sequence[Record], base_url: str, token: str, batch_size: int = 8,
                     progress: bool = True) -> list[Answer]:
    """One :class:`Answer` per record, in order. A batch the backend refuses is retried image by image,
    so one unusable image costs only its own answer (``written=False``, the error in ``note``)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    url = base_url.rstrip("/") + "/api/v1/describe"
    answers: dict[str, Answer] = {}
    sendable = []
    for record in records:
        if record.is_svg:
            answers[record.id] = Answer(record.id, written=False, note=NOT_SENT_SVG)
        else:
            sendable.append(record)
    started = time.perf_counter()
    for start in range(0, len(sendable), batch_size):
        batch = sendable[start:start + batch_size]
        response = _post(session, url, [_request_item(r) for r in batch])
        if response.status_code == 200:
            for record, result in zip(batch, response.json()["results"]):
                answers[record.id] = _answer(record, result)
        else:
            for record in batch:
                single = _post(session, url, [_request_item(record)])
                if single.status_code == 200:
                    answers[record.id] = _answer(record, single.json()["results"][0])
                else:
                    error = single.json().get("error", {}) if single.headers.get(
                        "Content-Type", "").startswith("application/json") else {}
                    answers[record.id] = Answer(record.id, written=False,
                                                note=f"refused: {single.status_code} {error.get('code', '')}".strip())
        if progress:
            done = start + len(batch)
            print(f"\rbackend level: {done}/{len(sendable)} images, {time.perf_counter() - started:.0f} s",
                  end="", file=sys.stderr, flush=True)
    if progress and sendable:
        print(file=sys.stderr)
    return [answers[r.id] for r in records]
