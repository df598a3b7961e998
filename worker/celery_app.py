"""The Celery app: Redis broker, one queue per model, at-most-once delivery of long streaming jobs.

`celery -A worker.celery_app worker` (or `python -m worker`) runs the tasks in `worker.tasks`; the
web only sends them by name (`make_submitter`) and never imports a backend.
"""

from __future__ import annotations

from celery import Celery

from worker.jobs import Submit, queue_name
from worker.protocol import JobSpec
from worker.settings import Settings

TASK_NAME = "rio.generate"


def make_app(settings: Settings, *, include_tasks: bool = True) -> Celery:
    app = Celery("rio", broker=settings.redis_url, include=["worker.tasks"] if include_tasks else [])
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


def make_submitter(settings: Settings) -> Submit:
    client = make_app(settings, include_tasks=False)

    def submit(spec: JobSpec) -> None:
        client.send_task(
            TASK_NAME,
            args=[spec.model_dump_json()],
            queue=queue_name(spec.model),
            expires=settings.queue_expiry_s,
        )

    return submit


app = make_app(Settings.from_env())
