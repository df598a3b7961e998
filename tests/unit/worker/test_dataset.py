"""The scheduled push to a Hub dataset: nothing without its settings; with them, the scheduler is built on
the right folder and repository. The Hub cannot run here: huggingface_hub's offline mode stops the
scheduler's first request (creating the repository) before any network is reached."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from worker.ops.settings import Settings
from worker.store.dataset import dataset_push, start_dataset_push

ENV = {"RIO_DATASET_REPO": "prefeitura-rio/rio-demo-feedback", "HF_TOKEN": "hf_test", "RIO_DATASET_EVERY_MIN": "15"}


def test_nothing_is_scheduled_without_a_repository_and_a_token(tmp_path):
    for env in ({}, {"RIO_DATASET_REPO": ENV["RIO_DATASET_REPO"]}, {"HF_TOKEN": "hf_test"}):
        settings = Settings.from_env({**env, "RIO_VAR_DIR": str(tmp_path)})
        assert dataset_push(settings) is None
        assert start_dataset_push(settings) is None
    assert not (tmp_path / "dataset").exists()


def test_with_both_the_push_is_planned_on_the_var_folder(tmp_path):
    push = dataset_push(Settings.from_env({**ENV, "RIO_VAR_DIR": str(tmp_path)}))
    assert push is not None
    assert (push.repo_id, push.folder, push.every_min, push.token) == (
        "prefeitura-rio/rio-demo-feedback", (tmp_path / "dataset").resolve(), 15.0, "hf_test")  # fmt: skip


def test_the_scheduler_is_built_for_that_repository_and_stops_at_the_hub_offline(tmp_path):
    code = (
        "import logging, os; logging.basicConfig(level=logging.WARNING)\n"
        "from worker.ops.settings import Settings\nfrom worker.store.dataset import start_dataset_push\n"
        "print(start_dataset_push(Settings.from_env(os.environ)))"
    )
    env = {**ENV, "RIO_VAR_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[3])  # fmt: skip
    assert done.stdout.strip() == "None", done.stderr
    assert "dataset push to prefeitura-rio/rio-demo-feedback not started" in done.stderr
    assert "/api/repos/create" in done.stderr and "offline mode is enabled" in done.stderr
    assert (tmp_path / "dataset").is_dir()
