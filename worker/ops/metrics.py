"""Prometheus metrics of a web or worker process, served at `http://<host>:<port>/metrics`.

rio_queue_depth{model}                 jobs waiting in the model's Celery queue (read at scrape time)
rio_jobs_total{model,outcome}          jobs ended, by finish reason or error code (worker)
rio_ttft_seconds{model}                time to first token (worker, from each job's stats)
rio_tokens_per_second{model}           decode speed (worker)
rio_active_streams                     job streams open in this process (web: followed; worker: written)
rio_rejected_total{code}               requests turned away before a job existed (web)
rio_module_loaded{module}              1 if torch / transformers is imported in this process (a web-only Space: 0)
rio_stored_bytes_total{kind}           bytes written to Redis by kind: image, shared_image, snapshot (web)
rio_budget_refusals_total{budget}      uploads and shares refused, by budget: client_image_bytes, client_shares,
                                       client_feedback, memory, redis_maxmemory, share_size (web)
rio_feedback_total{model,rating}       answers rated 👍 (up) or 👎 (down) on the page, each new or changed rating (web)
rio_redis_used_memory_bytes            Redis's used memory (read at scrape time)
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import redis
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from worker.models import queue_name
from worker.queue.protocol import Stats

log = logging.getLogger(__name__)
REGISTRY = CollectorRegistry()
JOBS = Counter("rio_jobs", "Jobs ended, by outcome", ["model", "outcome"], registry=REGISTRY)
TTFT = Histogram("rio_ttft_seconds", "Time to first token", ["model"], registry=REGISTRY,
                 buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))  # fmt: skip
SPEED = Histogram("rio_tokens_per_second", "Decode speed", ["model"], registry=REGISTRY,
                  buckets=(1, 5, 10, 20, 40, 80, 160, 320))  # fmt: skip
ACTIVE = Gauge("rio_active_streams", "Job streams open in this process", registry=REGISTRY)
REJECTED = Counter("rio_rejected", "Requests turned away before a job existed", ["code"], registry=REGISTRY)
STORED = Counter("rio_stored_bytes", "Bytes written to Redis, by kind", ["kind"], registry=REGISTRY)
FEEDBACK = Counter("rio_feedback", "Answers rated, by model and rating", ["model", "rating"], registry=REGISTRY)
REFUSED = Counter("rio_budget_refusals", "Uploads and shares refused, by budget", ["budget"], registry=REGISTRY)


class QueueDepth(Collector):
    def __init__(self, redis_url: str, models: list[str]) -> None:
        self.client = redis.Redis.from_url(redis_url, socket_timeout=1)
        self.models = models

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("rio_queue_depth", "Jobs waiting in the model's queue", labels=["model"])
        for model in self.models:
            try:
                gauge.add_metric([model], float(self.client.llen(queue_name(model))))
            except redis.RedisError:
                continue
        yield gauge
        used = GaugeMetricFamily("rio_redis_used_memory_bytes", "Redis used memory")
        try:
            used.add_metric([], float(self.client.info("memory")["used_memory"]))
        except redis.RedisError:
            return
        yield used


class HeavyModules(Collector):
    """Whether this process has imported the heavy libraries (read at scrape time)."""

    MODULES = ("torch", "transformers")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("rio_module_loaded", "1 if the module is imported here", labels=["module"])
        for name in self.MODULES:
            gauge.add_metric([name], float(name in sys.modules))
        yield gauge


def observe(model: str, stats: Stats) -> None:
    if stats.ttft_ms:
        TTFT.labels(model).observe(stats.ttft_ms / 1000)
    if stats.tokens_per_s:
        SPEED.labels(model).observe(stats.tokens_per_s)


def serve(port: int, redis_url: str, models: list[str]) -> None:
    """Start the /metrics server (a thread); port 0 means off."""
    if not port:
        return
    REGISTRY.register(QueueDepth(redis_url, models))
    REGISTRY.register(HeavyModules())
    try:
        start_http_server(port, addr="0.0.0.0", registry=REGISTRY)
    except OSError as exc:
        log.warning("metrics server not started on port %d: %s", port, exc)
