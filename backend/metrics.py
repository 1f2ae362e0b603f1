"""Prometheus metrics (GET /metrics). Labels use route templates, never raw paths, to stay bounded.

Under gunicorn each worker counts for itself unless PROMETHEUS_MULTIPROC_DIR is set
(prometheus-client's multiprocess mode).
"""
from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, REGISTRY

REQUESTS = Counter("altlens_http_requests_total", "HTTP requests", ["route", "method", "status"])
LATENCY = Histogram("altlens_http_request_seconds", "HTTP request latency", ["route"],
                    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DESCRIPTIONS = Counter("altlens_descriptions_total", "Descriptions answered", ["cached"])
FEEDBACK = Counter("altlens_feedback_total", "Feedback received", ["kind", "replayed"])
PAIRS = Counter("altlens_preference_pairs_total", "Preference pairs created")


def _registry() -> CollectorRegistry:

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def init_metrics(app: Flask) -> None:
    @app.before_request
    def start_timer():
        g.metrics_start = time.perf_counter()

    @app.after_request
    def record(response):
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        if "metrics_start" in g:
            LATENCY.labels(route).observe(time.perf_counter() - g.metrics_start)
        return response

    @app.get("/metrics")
    def metrics():
        return Response(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
