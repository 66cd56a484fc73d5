"""Bounded load test: 200 technicians working their visits through the phone API and
10 dispatchers browsing boards, against gunicorn + PostgreSQL on this machine.

    .venv/bin/python -m benchmarks.load.run_load                       # defaults below
    .venv/bin/python -m benchmarks.load.run_load --duration 30 --techs 50
    .venv/bin/python -m benchmarks.load.run_load --restart-postgres-at 20   # fault run (hand-run only)

What it does, all on loopback, and stops by itself after --duration seconds:

1. creates a fresh PostgreSQL database (dropped at the end unless --keep-db) with the
   schema and a seeded world (benchmarks/load/seed.py): 8 regions x 25 technicians,
   16 dispatched visits each on today's published plans (400 visits per board), 10
   dispatchers;
2. starts gunicorn with gunicorn.conf.py (--web-workers x --threads) on a free port;
3. runs --clients load processes, each with one thread per virtual user (locust is not
   installed; this is the same closed-loop model with exponential think times):
   - technician: GET /api/v1/tech/day, then for each visit start-travel, arrive,
     complete (three POSTs: "tech_update"), re-reading the day after each visit
     ("tech_read"), with a mean think time of 15 s (a real technician taps a few
     times per visit, i.e. every several minutes: this is tens of times the real rate);
   - dispatcher: GET /board?region_id=R (the HTML board, "board_page") and
     GET /api/v1/plans/<id> (the plan with all its visits, "plan_api");
   every request uses a fresh connection with a 10 s timeout (a hang counts as an error);
4. prints and writes (--out, JSON) throughput and p50/p95/p99 latency per kind, errors.

With --restart-postgres-at S it restarts the machine's PostgreSQL S seconds in
(`pg_ctlcluster --skip-systemctl-redirect <version> main restart`, then waits until it
answers) and reports, per second, how requests fared: errors must be clean 5xx JSON
answers (no hang, no HTML on the API) and requests after the restart must succeed
(pool pre-ping replaces the dead connections). NEVER run this from the test suite.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UPDATE_ACTIONS = ("start-travel", "arrive", "complete")


# ----------------------------------------------------------------------------- client side

class Client:
    def __init__(self, port: int, samples: list, t0: float, timeout: float = 10.0) -> None:
        self.port, self.samples, self.t0, self.timeout = port, samples, t0, timeout
        self.headers: dict[str, str] = {}

    def request(self, kind: str, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Connection": "close", **self.headers}
        if data is not None:
            headers["Content-Type"] = "application/json"
        start = time.perf_counter()
        status, payload, err, json_ok = 0, b"", "", False
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            status = resp.status
            json_ok = resp.getheader("Content-Type", "").startswith("application/json")
            conn.close()
        except TimeoutError:
            err = "timeout"
        except OSError as exc:
            err = type(exc).__name__
        except http.client.HTTPException as exc:
            err = type(exc).__name__
        ms = (time.perf_counter() - start) * 1000
        self.samples.append((kind, round(start - self.t0, 3), round(ms, 2), status, err, json_ok))
        if not err and 200 <= status < 300 and json_ok:
            try:
                return json.loads(payload)
            except ValueError:
                return None
        return None if err or not 200 <= status < 300 else payload

    def token(self, username: str, password: str) -> bool:
        for _ in range(20):
            out = self.request("login", "POST", "/api/v1/auth/token",
                               {"username": username, "password": password})
            if isinstance(out, dict) and out.get("token"):
                self.headers["Authorization"] = f"Bearer {out['token']}"
                return True
            time.sleep(1)
        return False


def _think(rng: random.Random, mean: float) -> float:
    return min(rng.expovariate(1.0 / mean), mean * 4) if mean > 0 else 0.0


def technician(port, username, password, t0, deadline, think, samples, seed) -> None:
    rng = random.Random(seed)
    c = Client(port, samples, t0)
    time.sleep(rng.uniform(0, think))
    if not c.token(username, password):
        return
    day = c.request("tech_read", "GET", "/api/v1/tech/day")
    pending = [v["id"] for v in (day or {}).get("visits", []) if v.get("status") == "planned"]
    while time.monotonic() < deadline:
        if not pending:
            time.sleep(_think(rng, think))
            c.request("tech_read", "GET", "/api/v1/tech/day")
            continue
        visit = pending.pop(0)
        for action in UPDATE_ACTIONS:
            time.sleep(_think(rng, think))
            if time.monotonic() >= deadline:
                return
            body = {"client_action_id": uuid.uuid4().hex}
            if action == "complete":
                body.update(resolution_code="fixed_on_site", notes="load test")
            else:
                body["position"] = {"lat": 31.2 + rng.random() / 10, "lon": 121.4 + rng.random() / 10}
            c.request("tech_update", "POST", f"/api/v1/tech/visits/{visit}/{action}", body)
        time.sleep(_think(rng, think))
        c.request("tech_read", "GET", "/api/v1/tech/day")


def dispatcher(port, username, password, t0, deadline, think, plans, samples, seed) -> None:
    rng = random.Random(seed)
    c = Client(port, samples, t0)
    time.sleep(rng.uniform(0, think))
    if not c.token(username, password):
        return
    while time.monotonic() < deadline:
        region_id, plan_id = plans[rng.randrange(len(plans))]
        c.request("board_page", "GET", f"/board?region_id={region_id}")
        time.sleep(_think(rng, think))
        if time.monotonic() >= deadline:
            break
        c.request("plan_api", "GET", f"/api/v1/plans/{plan_id}")
        time.sleep(_think(rng, think))


def client_process(port, techs, dispatchers, plans, password, t0_wall, duration, think_tech,
                   think_disp, seed, out_q) -> None:
    samples: list = []
    # t0 is shared wall-clock so that all processes' sample times line up
    t0 = time.perf_counter() - (time.time() - t0_wall)
    deadline = time.monotonic() + duration - max(0.0, time.time() - t0_wall)
    threads = [threading.Thread(target=technician, args=(port, u, password, t0, deadline, think_tech,
                                                         samples, seed * 100000 + i), daemon=True)
               for i, u in enumerate(techs)]
    threads += [threading.Thread(target=dispatcher, args=(port, u, password, t0, deadline, think_disp,
                                                          plans, samples, seed * 100000 + 50000 + i),
                                 daemon=True)
                for i, u in enumerate(dispatchers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, deadline - time.monotonic() + 15))
    out_q.put(list(samples))


# ----------------------------------------------------------------------------- server side

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_database(admin_url: str) -> tuple[str, callable]:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from core.db import make_engine

    name = f"fixroute_load_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        for _ in range(30):
            try:
                with admin.connect() as conn:
                    conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                break
            except DBAPIError:  # PostgreSQL restarting
                time.sleep(1)
        admin.dispose()

    return url, drop


def wait_http(port: int, path: str = "/healthz", timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server on port {port} did not answer {path}")


def pg_restart() -> float:
    """Restart the machine's PostgreSQL (hand-run fault scripts only); seconds until ready."""
    version = min(os.listdir("/etc/postgresql"))
    start = time.monotonic()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True)
    for _ in range(120):
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"], check=False).returncode == 0:
            break
        time.sleep(0.25)
    return time.monotonic() - start


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def _ok(sample) -> bool:
    """2xx only: a redirect (to the sign-in page) is a failure here too."""
    return not sample[4] and 200 <= sample[3] < 300


def summarise(samples: list, measured_from: float, duration: float) -> dict:
    kinds = sorted({s[0] for s in samples})
    out = {}
    window = max(duration - measured_from, 1e-9)
    for kind in kinds:
        rows = [s for s in samples if s[0] == kind and s[1] >= measured_from]
        ok = [s for s in rows if _ok(s)]
        errors = [s for s in rows if not _ok(s)]
        lat = [s[2] for s in ok]
        out[kind] = {
            "requests": len(rows), "errors": len(errors),
            "error_kinds": sorted({s[4] or str(s[3]) for s in errors}),
            "per_s": round(len(rows) / window, 1),
            "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "p99_ms": pct(lat, 99),
            "max_ms": max(lat) if lat else None,
        }
    return out


def restart_timeline(samples: list, restart_at: float, ready_after: float) -> dict:
    """Per second around the restart: requests, ok, clean 5xx JSON, other errors."""
    seconds = {}
    for kind, t, ms, status, err, json_ok in samples:
        sec = int(t)
        row = seconds.setdefault(sec, {"requests": 0, "ok": 0, "clean_5xx": 0, "unclean": 0, "max_ms": 0})
        row["requests"] += 1
        row["max_ms"] = max(row["max_ms"], ms)
        if not err and 200 <= status < 300:
            row["ok"] += 1
        elif not err and status >= 500 and (json_ok or kind == "board_page"):
            row["clean_5xx"] += 1
        else:
            row["unclean"] += 1
    ready = restart_at + ready_after
    after = [s for s in samples if s[1] >= ready + 2.0]  # 2 s after PostgreSQL answers again
    return {
        "restart_at_s": restart_at, "postgres_ready_after_s": round(ready_after, 2),
        "errors_total": sum(1 for s in samples if not _ok(s)),
        "unclean_errors": sum(r["unclean"] for r in seconds.values()),
        "clean_5xx": sum(r["clean_5xx"] for r in seconds.values()),
        "timeouts": sum(1 for s in samples if s[4] == "timeout"),
        "errors_from_2s_after_ready": sum(1 for s in after if not _ok(s)),
        "requests_from_2s_after_ready": len(after),
        "per_second": {k: seconds[k] for k in sorted(seconds)
                       if restart_at - 3 <= k <= restart_at + ready_after + 6},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--techs", type=int, default=200)
    ap.add_argument("--dispatchers", type=int, default=10)
    ap.add_argument("--visits", type=int, default=16, help="visits per technician")
    ap.add_argument("--duration", type=float, default=90.0, help="seconds of load")
    ap.add_argument("--warmup", type=float, default=15.0, help="seconds not counted (sign-ins, first loads)")
    ap.add_argument("--think-tech", type=float, default=15.0,
                    help="mean seconds between a technician's requests (real: minutes)")
    ap.add_argument("--think-dispatcher", type=float, default=10.0,
                    help="mean seconds a dispatcher looks at a board or plan before the next")
    ap.add_argument("--techs-per-region", type=int, default=25)
    ap.add_argument("--web-workers", type=int, default=5)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--clients", type=int, default=2, help="load-generating processes")
    ap.add_argument("--pg-admin-url", default=os.environ.get("FIXROUTE_PG_ADMIN_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--restart-postgres-at", type=float, default=None,
                    help="FAULT RUN: restart the machine's PostgreSQL this many seconds in")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from sqlmodel import Session

    from app import MODEL_MODULES
    from benchmarks.load.seed import PASSWORD, seed
    from core.db import import_all_models, make_engine, metadata

    url, drop = create_database(args.pg_admin_url)
    server = None
    try:
        import_all_models(MODEL_MODULES)
        engine = make_engine(url)
        metadata.create_all(engine)
        t = time.perf_counter()
        with Session(engine, expire_on_commit=False) as session:
            world = seed(session, n_techs=args.techs, n_dispatchers=args.dispatchers,
                         visits_per_tech=args.visits, techs_per_region=args.techs_per_region)
        engine.dispose()
        print(f"seeded {len(world.technicians)} technicians x {args.visits} visits, "
              f"{len(world.dispatchers)} dispatchers in {time.perf_counter() - t:.1f} s", flush=True)

        port = free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TWILIO_", "REDIS_URL", "GUNICORN_", "WEB_CONCURRENCY"))}
        env.update(DATABASE_URL=url, SECRET_KEY=uuid.uuid4().hex, WEB_CONCURRENCY=str(args.web_workers),
                   GUNICORN_THREADS=str(args.threads), PYTHONPATH=str(ROOT))
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"fixroute-load-gunicorn-{port}.log"
        log = log_path.open("w")  # gunicorn writes to it until the end
        server = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py",
                                   "--bind", f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        wait_http(port)
        print(f"gunicorn: {args.web_workers} workers x {args.threads} threads on 127.0.0.1:{port} "
              f"(log {log_path})", flush=True)

        ctx = mp.get_context("spawn")
        out_q = ctx.Queue()
        t0_wall = time.time() + 1.0
        procs = []
        for i in range(args.clients):
            techs = world.technicians[i::args.clients]
            disps = world.dispatchers[i::args.clients]
            p = ctx.Process(target=client_process, args=(port, techs, disps, world.plans, PASSWORD, t0_wall,
                                                         args.duration, args.think_tech, args.think_dispatcher,
                                                         i + 1, out_q))
            p.start()
            procs.append(p)
        restart = None
        if args.restart_postgres_at is not None:
            time.sleep(max(0.0, t0_wall + args.restart_postgres_at - time.time()))
            at = time.time() - t0_wall
            print(f"restarting PostgreSQL at {at:.1f} s", flush=True)
            ready_after = pg_restart()
            print(f"PostgreSQL answers again after {ready_after:.1f} s", flush=True)
            restart = (at, ready_after)
        samples = []
        for _ in procs:
            samples.extend(out_q.get(timeout=args.duration + 120))
        for p in procs:
            p.join(timeout=10)

        result = {
            "command": "python -m benchmarks.load.run_load " + " ".join(argv if argv is not None else sys.argv[1:]),
            "machine": f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
                       f"load average before {os.getloadavg()[0]:.1f}",
            "config": {k: v for k, v in vars(args).items() if k not in ("pg_admin_url", "out")},
            "figures": summarise(samples, args.warmup, args.duration),
        }
        if restart:
            result["restart"] = restart_timeline(samples, *restart)
        print(json.dumps(result, indent=1))
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
        return 0
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if not args.keep_db:
            drop()


if __name__ == "__main__":
    sys.exit(main())
