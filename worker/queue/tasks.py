"""The `generate` task: validate the spec, run one backend, write its events; nothing else."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from functools import cache

import redis
from celery import signals

from worker.backends.base import Backend, JobContext
from worker.backends.sglang import SGLangBackend
from worker.errors import RioError, UnknownModel
from worker.intake.images import ImageStore, checked_loader
from worker.intake.validation import parse_job_spec
from worker.intake.vision import rules_of
from worker.limits import admission
from worker.models import entry, location
from worker.ops import metrics
from worker.ops.settings import Settings
from worker.queue.celery_app import TASK_NAME, make_app
from worker.queue.client import REDIS_DRIVER
from worker.queue.protocol import Done, JobSpec, ModelHealth, Stats, error_event, health_key, keyed_error
from worker.queue.stream import EventStream, StreamKeeper

log = logging.getLogger(__name__)
app = make_app(Settings.from_env())  # the worker process's one Celery app; the web never imports this module
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"
DEFAULT_REMOTE_CONCURRENCY = "64"  # job threads of a worker process serving remote backends (README)
SPARE_CONNECTIONS = 8


@cache
def settings() -> Settings:
    settings: Settings = app.settings
    return settings


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings().redis_url, health_check_interval=10, driver_info=REDIS_DRIVER,
                                max_connections=pool_size(os.environ))  # fmt: skip


def pool_size(environ: Mapping[str, str]) -> int:
    """Connections the process's Redis client may hold: one per job thread (each holds one through a
    blocking call), and spares for the stream keeper, the health watcher and the main thread. redis-py 8
    caps a pool at 100 by default: a worker of 256 threads failed jobs past it ("Too many connections",
    `bench.web` at 512 sessions). `worker.__main__` exports the concurrency it chose."""
    return int(environ.get("RIO_WORKER_CONCURRENCY", DEFAULT_REMOTE_CONCURRENCY)) + SPARE_CONNECTIONS


@cache
def backend(model: str) -> Backend:
    """One backend per model per worker process; a local model is loaded once, here."""
    e = entry(model)
    where = location(e, settings())
    if where is None:
        raise UnknownModel("model_not_configured", label=e.label)
    if e.backend == "local":
        from worker.backends.local import LocalBackend, LocalEngine

        s = settings()
        engine = LocalEngine.load(where, s.local_device)
        return LocalBackend(engine, min(e.context_limit, s.local_max_len), s.local_batch, s.local_compile)
    if e.backend == "sglang":
        s = settings()
        return SGLangBackend(
            label=e.label,
            served_model=e.key,
            urls=[u.strip() for u in where.split(",") if u.strip()],  # a router, or replicas
            api_key=s.sglang_api_key,
            read_timeout_s=s.sglang_read_timeout_s,
        )
    if e.backend == "paced":
        from worker.backends.paced import PacedBackend

        return PacedBackend()
    raise RioError("backend_not_available", label=e.label, backend=e.backend)


@cache
def keeper() -> StreamKeeper:
    return StreamKeeper(redis_client(), settings().heartbeat_s, settings().heartbeat_ttl_s)


def stream_events(spec: JobSpec, stream: EventStream) -> None:
    """Run the job's backend, appending its events; stop between events on cancel or deadline (the
    spec's, or RIO_JOB_TIMEOUT_S after the start, whichever comes first)."""
    images = ImageStore(redis_client(), settings())
    ctx = JobContext(worker=WORKER_NAME, load_image=checked_loader(images.get_sync, rules_of(entry(spec.model))))
    events = backend(spec.model).execute(spec, ctx)  # a generator: close() cancels it
    deadline = min(spec.deadline, time.time() + settings().job_timeout_s)  # counted once its backend is loaded
    try:
        for event in events:
            if isinstance(event, Stats):
                metrics.observe(spec.model, event)
            if not stream.emit(event):
                return
            if stream.cancel_requested():
                stream.emit(Done(finish_reason="cancelled"))
                return
            if time.time() > deadline:
                stream.emit(Done(finish_reason="length"))
                return
    finally:
        events.close()  # closes the upstream request (SGLang aborts it) or frees the local engine


def run_job(spec_json: str) -> None:
    try:
        spec = parse_job_spec(spec_json)
    except RioError as exc:
        log.error("dropped a job that is not a valid spec: %s", exc.message)
        return
    s = settings()
    stream = EventStream(redis_client(), spec.id, s, keeper())
    if not stream.claim(WORKER_NAME, spec.model, spec.ticket):
        # Redelivered after a crash, or cancelled while queued: never run a job twice.
        stream.report_lost()
        return
    t0 = time.monotonic()
    with keeper().keep(stream), metrics.ACTIVE.track_inprogress():
        try:
            stream_events(spec, stream)
        except RioError as exc:
            stream.emit(error_event(exc))
        except Exception as exc:
            log.exception("job %s failed", spec.id)
            stream.emit(error_event(exc))
        if not stream.ended:
            stream.emit(keyed_error("internal", "no_result", retryable=True))
    metrics.JOBS.labels(spec.model, stream.outcome or "none").inc()
    try:
        admission.job_ended(redis_client(), spec.model, time.monotonic() - t0)
    except redis.RedisError:
        log.warning("could not record the duration of job %s", spec.id)


@app.task(name=TASK_NAME, ignore_result=True)
def generate(spec_json: str) -> None:
    run_job(spec_json)


@signals.task_revoked.connect
def report_expired(request=None, expired: bool = False, **_: object) -> None:
    """A job that waited past `expires` is dropped by Celery; tell its page instead of going silent."""
    if not expired or request is None:
        return
    spec = JobSpec.model_validate_json(request.args[0])
    admission.job_started(redis_client(), spec.model, spec.ticket)  # no longer waiting: later tickets move up
    EventStream(redis_client(), spec.id, settings()).emit(keyed_error("queue_timeout", "queue_timeout", retryable=True))


def watch_health(models: list[str], every_s: float = 10.0) -> None:
    """Publish each SGLang model's health (`model:<key>:health`, 30 s TTL) so the page can show a
    model as down before anyone waits on it."""
    while True:
        for model in models:
            b = backend(model)
            assert isinstance(b, SGLangBackend)
            reason = b.down_reason()
            status = ModelHealth(up=reason is None, detail=reason or "")
            try:
                redis_client().set(health_key(model), status.model_dump_json(), ex=30)
            except redis.RedisError:
                log.warning("could not publish health of %s", model)
        time.sleep(every_s)


def served_models() -> list[str]:
    """The registry keys this worker serves (set by `python -m worker`)."""
    return [m for m in os.environ.get("RIO_WORKER_MODELS", "").split(",") if m]


@signals.worker_ready.connect
def start_metrics(**_: object) -> None:
    metrics.serve(settings().worker_metrics_port, settings().redis_url, served_models())


@signals.worker_ready.connect
def start_health_watch(**_: object) -> None:
    models = [m for m in served_models() if entry(m).backend == "sglang"]
    if models:
        threading.Thread(target=watch_health, args=(models,), daemon=True, name="health").start()


@signals.worker_process_init.connect
def preload(**_: object) -> None:
    for model in served_models():
        backend(model)
