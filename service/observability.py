"""Request ids, latency and count metrics (Prometheus), the request body size limit, and a
log filter that keeps repeated data-layer warnings to one per interval.

A pure ASGI middleware: it costs a few microseconds per request, unlike BaseHTTPMiddleware.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    """One registry per app, so several apps (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "stockcast_requests",
            "HTTP requests",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "stockcast_request_seconds",
            "request latency",
            ["route", "method"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.model_version = Gauge(
            "stockcast_model_version",
            "registered version served",
            ["ticker", "model", "alias"],
            registry=self.registry,
        )
        self.live = LiveGauges(self.registry)


class LiveGauges:
    """The online loop in Prometheus: prices' age, the ledger's queue, and the live performance
    of each version over the last DEFAULT_DAYS trading days (set at scrape time)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def gauge(name: str, text: str, labels: list[str]) -> Gauge:
            return Gauge(f"stockcast_{name}", text, labels, registry=registry)

        version, level = ["ticker", "version"], ["ticker", "version", "level"]
        self.prices_as_of = gauge(
            "prices_as_of_seconds", "last day of the prices (epoch)", ["ticker"]
        )
        self.prices_stale = gauge("prices_stale", "1 when newer prices were due", ["ticker"])
        self.ledger = gauge(
            "ledger_records", "forecast steps: pending, written, dropped", ["state"]
        )
        self.n = gauge("live_steps", "forecast steps judged", version)
        self.rmse = gauge("live_rmse", "RMSE of the served forecasts", version)
        self.naive_rmse = gauge("live_naive_rmse", "naive RMSE on the same steps", version)
        self.skill = gauge("live_skill", "1 - rmse / naive_rmse", version)
        self.cv_skill = gauge("live_cv_skill", "the version's CV skill", version)
        self.coverage = gauge("live_coverage", "share of outcomes inside the interval", level)
        self.width = gauge("live_width", "mean interval width (price units)", level)
        self.cv_coverage = gauge("live_cv_coverage", "the version's CV coverage", level)
        self.drifting = gauge("live_drifting", "1 when coverage left its tolerance", level)

    def reset(self) -> None:
        for metric in vars(self).values():
            metric.clear()


class RequestContext:
    """Adds X-Request-ID, records metrics per route template and status, limits body size."""

    def __init__(self, app: Any, metrics: Metrics, max_body_bytes: int) -> None:
        self.app, self.metrics, self.max_body_bytes = app, metrics, max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        length = dict(scope.get("headers") or []).get(b"content-length")
        try:
            if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
                await self._too_large(send_with_id, request_id)
            elif length is None and scope["method"] in ("POST", "PUT", "PATCH"):
                # no declared length (chunked): read up to the limit first, then replay it
                body = await self._read_limited(receive)
                if body is None:
                    await self._too_large(send_with_id, request_id)
                else:
                    await self.app(scope, _replay(body), send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:  # counted even when the app raised (a 500 sent by the outer error middleware)
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(path, scope["method"], str(status["code"])).inc()
            self.metrics.latency.labels(path, scope["method"]).observe(
                time.perf_counter() - started
            )

    async def _read_limited(self, receive: Any) -> bytes | None:
        """The whole body, or None as soon as it exceeds the limit."""
        chunks, seen = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, send: Any, request_id: str) -> None:
        body = json.dumps(
            {
                "detail": f"request body is larger than the limit of {self.max_body_bytes} bytes",
                "request_id": request_id,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes) -> Any:
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class OncePerInterval(logging.Filter):
    """Lets a warning through once per `interval_s` per distinct message (the message names the
    ticker): a service that cannot reach Yahoo says so once, not on every forecast."""

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s, self.clock = interval_s, clock
        self._last: dict[str, float] = {}
        self._guard = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key, now = record.getMessage(), self.clock()
        with self._guard:
            last = self._last.get(key)
            if last is not None and now - last < self.interval_s:
                return False
            self._last[key] = now
        return True
