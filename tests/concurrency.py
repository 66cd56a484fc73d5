"""N callers at once, each on its own connection and session, as concurrent requests
are: the proof that an action gives one effect (publish, reserve, text)."""
from __future__ import annotations

import threading
from collections.abc import Callable

from sqlmodel import Session

from core.db import make_engine
from core.errors import DomainError


def error_kind(exc: Exception) -> str:
    """The core.errors class a refusal is, by name: a subclass (InsufficientStock)
    counts as the kind it is of (Conflict), as its HTTP status did."""
    return next(c.__name__ for c in type(exc).__mro__ if c.__module__ == "core.errors")


def run_at_once(db_url: str, n: int, action: Callable[[Session], object], *,
                refused: tuple[type[Exception], ...] = (DomainError,),
                describe: Callable[[Exception], str] = lambda e: f"refused:{error_kind(e)}",
                ) -> list[str]:
    """Run `action(session)` in `n` threads released together; return one outcome each:
    "ok", `describe(exc)` for an expected refusal, "error:..." for anything else."""
    crowd = make_engine(db_url, pool_size=n, max_overflow=0)  # nobody waits for a slot
    barrier = threading.Barrier(n, timeout=60)
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        with Session(crowd, expire_on_commit=False) as session:
            session.connection()  # this thread's own connection before the start
            session.rollback()
            barrier.wait()
            try:
                action(session)
                outcome = "ok"
            except refused as exc:
                outcome = describe(exc)
            except Exception as exc:  # noqa: BLE001 - anything else breaks the guarantee
                outcome = f"error:{exc!r}"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    crowd.dispose()
    return results
