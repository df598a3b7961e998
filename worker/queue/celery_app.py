"""The Celery app: Redis broker, one queue per model, at-most-once delivery of long streaming jobs.

`python -m worker` (or `celery -A worker.queue.tasks worker`) runs the tasks of `worker.queue.tasks`, whose
module builds the worker's app; the web only builds messages (`make_publisher`), never an app at import,
and never imports a backend.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable

from celery import Celery

from worker.models import queue_name
from worker.ops.settings import Settings
from worker.queue.protocol import JobSpec

TASK_NAME = "rio.generate"
Publish = Callable[[JobSpec], tuple[str, bytes]]  # a job -> (Celery queue list, message to push)


def make_app(settings: Settings, *, include_tasks: bool = True) -> Celery:
    app = Celery("rio", broker=settings.redis_url, include=["worker.queue.tasks"] if include_tasks else [])
    app.conf.update(
        task_acks_late=True,  # a job is acked when it ends, so a broker restart does not drop it silently
        task_reject_on_worker_lost=False,  # ...but a crashed job is not redelivered: it is reported (claim key)
        worker_prefetch_multiplier=1,  # a worker holds only the job it runs; the rest stay visible in the queue
        task_ignore_result=True,  # tokens travel in Redis Streams, not in a result backend
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": int(settings.job_timeout_s * 2 + 60)},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        worker_proc_alive_timeout=120,  # the pool child loads its model before it reports up
        task_default_queue=queue_name("tiny-random"),
    )
    app.settings = settings
    return app


def make_publisher(settings: Settings) -> Publish:
    """Celery's message for a job, built in-process: (queue list, message). The web pushes it with its
    own asyncio Redis client (one LPUSH, pipelined with the `queued` event) instead of `send_task` in
    a thread, which also re-declares the queue on every call. The envelope is what kombu's Redis
    transport writes for the anonymous direct exchange Celery uses for a named queue (kombu 5.x:
    body base64 JSON, `delivery_info` {exchange "", routing_key}); `tests/unit/worker/test_hub.py` checks it
    against a real `send_task`, and every job a worker runs arrives this way."""
    app = make_app(settings, include_tasks=False)

    def publish(spec: JobSpec) -> tuple[str, bytes]:
        task_id = str(uuid.uuid4())
        queue = queue_name(spec.model)
        headers, properties, body, _ = app.amqp.as_task_v2(
            task_id,
            TASK_NAME,
            args=[spec.model_dump_json()],
            kwargs={},
            expires=settings.queue_expiry_s,
            reply_to=app.thread_oid,
            ignore_result=None,  # as send_task: the task's own setting (ignored results) applies
        )
        properties.update(
            delivery_mode=2,
            expiration=str(int(settings.queue_expiry_s * 1000)),
            delivery_info={"exchange": "", "routing_key": queue},
            priority=0,
            body_encoding="base64",
            delivery_tag=str(uuid.uuid4()),
        )
        message = {"body": base64.b64encode(json.dumps(body).encode()).decode(), "content-encoding": "utf-8",
                   "content-type": "application/json", "headers": headers, "properties": properties}  # fmt: skip
        return queue, json.dumps(message).encode()

    return publish
