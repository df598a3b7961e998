"""One frozen settings object, read from the environment once at process start and passed in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

DEFAULT_REDIS_PORT = 6390


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    redis_url: str = f"redis://127.0.0.1:{DEFAULT_REDIS_PORT}/0"
    var_dir: Path = Path("var")
    tiny_model_path: Path = Path("var/models/tiny-random")
    rio_local_model: str | None = None
    qwen_local_model: str | None = None
    local_device: str = "auto"  # the local engine's device: auto (CUDA when present), cpu, cuda:N
    local_batch: int = 8  # requests one local engine decodes together (rows of its one decode loop)
    local_max_len: int = 8192  # tokens per row of the local engine's static KV cache (plain-attention models)
    local_compile: bool = True  # compile the captured CUDA decode step (off: capture the eager kernels)
    rio_sglang_url: str | None = None
    qwen_sglang_url: str | None = None
    sglang_api_key: str | None = None
    sglang_read_timeout_s: float = 120.0  # longest silence inside a stream (prefill of a long prompt)
    paced_model: bool = False  # serve the `paced` backend (load tests, benchmarks)
    job_timeout_s: float = 600.0  # the longest a job may run; Celery's visibility timeout sits above it
    queue_expiry_s: float = 300.0  # a job still queued after this is dropped by Celery (`expires`)
    stream_ttl_s: int = 3600  # how long a finished job's event stream stays readable
    heartbeat_s: float = 1.0
    heartbeat_ttl_s: float = 3.0
    max_new_tokens: int = 2048
    max_prompt_chars: int = 32_000
    max_images: int = 4
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 20_000_000
    max_payload_bytes: int = 24 * 1024 * 1024  # all images of one message together
    max_stored_image_bytes: int = 4 * 1024 * 1024  # one image as stored (JPEG quality steps down to fit)
    image_ttl_s: int = 6 * 3600  # how long an uploaded image stays usable (and its copy on the web's disk)
    image_mb_per_hour: int = 20  # stored image megabytes per client per hour
    shares_per_hour: int = 10  # share links per client per hour
    store_budget_mb: int = 768  # uploads and new shares refused once Redis uses this much memory (0 = no check)
    redis_maxmemory_mb: int = 1024  # the embedded Redis's maxmemory (noeviction); keep it above store_budget_mb
    share_max_turns: int = 64  # per side of a shared conversation
    share_max_images: int = 16  # distinct images in a shared conversation
    share_max_mb: int = 8  # a shared conversation's bytes: its JSON and its images together
    display_image_px: int = 1280  # the long side of the copy of an image the page shows (the model gets its own)
    feedback_per_hour: int = 120  # answers rated (👍/👎, reason, comment) per client per hour
    feedback_max_chars: int = 1000  # a feedback comment's length
    dataset_repo: str | None = None  # RIO_DATASET_REPO: a Hub dataset repo the records are pushed to
    dataset_every_min: float = 10.0  # minutes between pushes to that dataset repo
    hf_token: str | None = None  # HF_TOKEN: a write token for that dataset repo
    max_queue: int = 256  # jobs waiting per model before new ones are told "busy, try again in N s"
    requests_per_minute: int = 30  # per anonymous client (its address)
    jobs_per_client: int = 4  # running at once per anonymous client (a comparison is two)
    user_requests_per_minute: int = 120  # per signed-in Hugging Face user
    user_jobs: int = 8  # running at once per signed-in Hugging Face user
    trusted_proxies: str = ""  # comma-separated proxy addresses or networks whose X-Forwarded-For is believed
    trusted_proxy_hops: int = 0  # N > 0: every request passes exactly N proxies; the visitor is N+1-th from the right
    votes_per_hour: int = 30  # battle votes per voter per hour (0 = no limit)
    voter_pair_daily_cap: int = 5  # one voter's counted votes on one pair of contenders per day (0 = no cap)
    voter_secret: str | None = None  # key of the voter hashes; unset: one random key kept in Redis
    battle_contenders: str = ""  # `key` or `key:mode`, comma-separated; empty: every configured model
    web_metrics_port: int = 9464  # Prometheus /metrics of the web process (0 = off)
    worker_metrics_port: int = 9465  # of a worker process (0 = off; give each worker on a host its own)
    web_updates_per_s: int = 1000  # page updates per second one web process aims to stay within (render cadence)
    web_queue_size: int = 4096  # Gradio queue: events waiting or running per web process before "queue full"
    web_job_cap: int = 4096  # Gradio events running at once per web process (each streaming chat is one)
    hop_log: Path | None = None  # append one JSON line per chat job: where its first token spent its time (bench.web)
    web_threads: int = 40  # Gradio's thread pool for sync work, apart from the job cap
    web_host: str = "0.0.0.0"
    web_port: int = 7860
    public_url: str | None = None  # the page's public address, for share links (else taken from the request)
    browser_secret: str | None = None  # encrypts the resume state in the browser; set one for several web processes

    # Set by the platform, read under their own names: on a Hugging Face Space SYSTEM is "spaces",
    # SPACE_HOST its public host(s) and OAUTH_CLIENT_ID present when the Space has `hf_oauth: true`.
    system: str = ""
    space_host: str | None = None
    oauth_client_id: str | None = None
    embedded_redis: bool = False  # the Redis is the one app.py / worker.ops.launch started (data under var_dir)

    @property
    def on_space(self) -> bool:
        return self.system == "spaces"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        fields: dict[str, object] = {}
        for name in cls.model_fields:
            for key in (f"RIO_{name.upper()}", name.upper()):
                if env.get(key):
                    fields[name] = env[key]
                    break
        return cls.model_validate(fields)
