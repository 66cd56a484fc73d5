"""Fixtures for the Redis + RQ integration tests: the local Redis (a missing Redis
fails the test when FIXROUTE_REQUIRE_REDIS=1, as in CI, and skips it otherwise), a
queue name unique to this test (deleted afterwards) and real `fixroute worker`
processes."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REDIS_TEST_URL = os.environ.get("FIXROUTE_REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parents[2]
FIXROUTE = str(Path(sys.executable).with_name("fixroute"))


@pytest.fixture(scope="session")
def redis_url() -> str:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2).ping()
    except RedisError as exc:
        message = f"Redis at {REDIS_TEST_URL} does not answer: {exc}"
        if os.environ.get("FIXROUTE_REQUIRE_REDIS"):
            pytest.fail(message)
        pytest.skip(message)
    return REDIS_TEST_URL


@pytest.fixture
def redis_conn(redis_url):
    from redis import Redis

    conn = Redis.from_url(redis_url)
    yield conn
    conn.close()


@pytest.fixture
def rq_queue(redis_conn):
    """A queue name of this test only; the queue, its registries and jobs go afterwards."""
    from rq import Queue
    from rq.job import Job

    name = f"fixroute-itest-{uuid.uuid4().hex[:10]}"
    yield name
    queue = Queue(name, connection=redis_conn)
    registries = (queue.started_job_registry, queue.finished_job_registry, queue.failed_job_registry,
                  queue.deferred_job_registry, queue.scheduled_job_registry, queue.canceled_job_registry)
    for registry in registries:
        for job_id in registry.get_job_ids(cleanup=False):
            redis_conn.delete(Job.key_for(job_id))
        redis_conn.delete(registry.key)
    queue.delete(delete_jobs=True)


def worker_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    env.update(extra)
    env["PYTHONPATH"] = str(ROOT)
    return env


def run_worker_burst(queue: str, redis_url: str, *, env: dict | None = None,
                     timeout: float = 90.0) -> subprocess.CompletedProcess:
    """A real `fixroute worker --burst` process on `queue`; returns when it has drained it."""
    return subprocess.run(
        [FIXROUTE, "worker", "--burst", "-q", queue, "--redis-url", redis_url],
        check=False, cwd=ROOT, env=env or worker_env(), capture_output=True, text=True,
        timeout=timeout)


def start_worker(queue: str, redis_url: str, *, env: dict | None = None,
                 extra_args: tuple[str, ...] = ()) -> subprocess.Popen:
    return subprocess.Popen(
        [FIXROUTE, "worker", "-q", queue, "--redis-url", redis_url, *extra_args],
        cwd=ROOT, env=env or worker_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True)
