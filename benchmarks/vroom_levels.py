"""VROOM alone at several exploration levels and timeouts on one VROOM-format file.

Why: the exploration level VROOM uses as FixRoute's route builder
(``builders.VROOM_EXPLORATION``) was chosen from these runs (docs/benchmarks.md,
"VROOM's exploration level").  Run by hand, one solve at a time, on a day written by
``field_days.py --plain --dump-dir DIR``:

    .venv/bin/python benchmarks/vroom_levels.py /tmp/fd_plain/day_300x25_seed7_plain.json 0:18 5:18 5:30

Each LEVEL:TIMEOUT pair prints the wall time, jobs assigned, priority sum and VROOM's
cost (travel, lower is better); a timeout of 0 means none.
"""

from __future__ import annotations

import datetime
import json
import sys
import time


def run(path: str, level: int, timeout: float) -> str:
    import vroom

    data = json.loads(open(path).read())
    inp = vroom.Input.from_json(path)
    t0 = time.monotonic()
    sol = inp.solve(exploration_level=level, nb_threads=1,
                    timeout=datetime.timedelta(seconds=timeout) if timeout > 0 else None)
    out = sol.to_dict()
    priority = {j["id"]: j.get("priority", 0) for j in data["jobs"]}
    done = [s["id"] for r in out["routes"] for s in r["steps"] if s["type"] == "job"]
    return (f"level {level} timeout {timeout:g} s: {time.monotonic() - t0:.1f} s, assigned {len(done)}, "
            f"priority {sum(priority[i] for i in done)}, cost {out['summary']['cost']}")


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    for pair in sys.argv[2:]:
        level, timeout = pair.split(":")
        print(run(sys.argv[1], int(level), float(timeout)), flush=True)


if __name__ == "__main__":
    main()
