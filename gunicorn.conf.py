"""gunicorn settings for FixRoute's web process: `gunicorn -c gunicorn.conf.py`.

Everything comes from the environment (docs/deploy.md lists the variables):

- WEB_CONCURRENCY   worker processes (default 2 x CPUs + 1)
- GUNICORN_THREADS  threads per worker (gthread; default 4). Keep
                    workers x threads <= the database pool (5 + 10 overflow per worker,
                    core/db.make_engine) and the sum over all machines under
                    PostgreSQL's max_connections.
- PORT / GUNICORN_BIND, GUNICORN_TIMEOUT, GUNICORN_MAX_REQUESTS, GUNICORN_ACCESS_LOG

The app is NOT preloaded: each worker builds its own app and database engine after
the fork, so no pooled connection is ever shared between processes. Pool pre-ping is
on for PostgreSQL (core.db.make_engine), so a connection that died with a database
restart is replaced on checkout instead of failing a request.

Solves never run in a web worker: they go to RQ workers (REDIS_URL) or to a spawn
process, so request threads are never held by the GIL of a solve.
"""
from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


wsgi_app = "app:create_app()"
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = _int("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1)
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
preload_app = False
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = 30
keepalive = 5
# recycle workers now and then (bounded memory growth), staggered so they never all restart together
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = max_requests // 10
backlog = 2048
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # "-" for stdout
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
