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
    name = f"fixroute-itest-{uuid.uuid4().hex[:10]}"
    yield name
    purge_queue(redis_conn, name)


def purge_queue(conn, name: str) -> None:
    """Delete an RQ queue and everything RQ keeps about it: its registries, its jobs and
    their results, and the records of workers (also killed ones) that served it."""
    from rq import Queue

    queue = Queue(name, connection=conn)
    for key in conn.scan_iter(match="rq:job:*", count=1000):
        if conn.type(key) == b"hash" and conn.hget(key, "origin") == name.encode():
            job_id = key.decode().split(":", 2)[2]
            conn.delete(key, f"rq:results:{job_id}", f"rq:executions:{job_id}")
    for registry in (queue.started_job_registry, queue.finished_job_registry, queue.failed_job_registry,
                     queue.deferred_job_registry, queue.scheduled_job_registry, queue.canceled_job_registry):
        conn.delete(registry.key)
    for key in conn.scan_iter(match="rq:worker:*", count=1000):
        if conn.type(key) == b"hash" and name.encode() in (conn.hget(key, "queues") or b"").split(b","):
            conn.delete(key)
            conn.srem("rq:workers", key)
    conn.delete(f"rq:workers:{name}", queue.key)
    conn.srem("rq:queues", queue.key)


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
