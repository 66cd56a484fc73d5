"""``fixroute solve``: file and stdin input, JSON on stdout, exit code 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from dispatch.solver.cli import solve_command

from .test_vroom_json import VROOM_EXAMPLE

ROOT = Path(__file__).resolve().parents[2]


def test_solve_file_prints_vroom_solution(tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps(VROOM_EXAMPLE))
    res = CliRunner().invoke(solve_command, [str(f), "--time-limit", "2", "--solution-limit", "30", "-q"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["code"] == 0 and out["summary"]["unassigned"] == 0 and out["routes"]


def test_solve_reads_stdin_and_writes_output_file(tmp_path):
    out_file = tmp_path / "s.json"
    res = CliRunner().invoke(solve_command, ["-", "--time-limit", "1", "--seed", "1", "--builder", "ortools",
                                             "--output", str(out_file)], input=json.dumps(VROOM_EXAMPLE))
    assert res.exit_code == 0, res.output
    sol = json.loads(out_file.read_text())
    # OR-Tools alone: the seed picks the portfolio entry
    assert sol["x_fixroute_stats"]["seed"] == 1 and sol["x_fixroute_stats"]["config"] == "pci-gls-lean"
    assert "done:" in res.stderr


def test_builder_option_reaches_the_solve(tmp_path):
    for name in ("pyvrp", "vroom"):
        res = CliRunner().invoke(solve_command, ["-", "--time-limit", "2", "--solution-limit", "20", "-q",
                                                 "--builder", name], input=json.dumps(VROOM_EXAMPLE))
        assert res.exit_code == 0, res.output
        stats = json.loads(res.stdout)["x_fixroute_stats"]
        assert stats["builder"] == name and stats["config"].startswith(name + "+")


def test_unknown_builder_is_refused():
    res = CliRunner().invoke(solve_command, ["-", "--builder", "gurobi"], input=json.dumps(VROOM_EXAMPLE))
    assert res.exit_code == 2


def test_bad_input_exits_2_naming_the_field():
    bad = dict(VROOM_EXAMPLE, jobs=[dict(VROOM_EXAMPLE["jobs"][0], service=-1)])
    res = CliRunner().invoke(solve_command, ["-", "--time-limit", "1"], input=json.dumps(bad))
    assert res.exit_code == 2
    assert "error: jobs[0].service:" in res.stderr
    assert json.loads(res.stdout)["error"]["field"] == "jobs[0].service"


def test_not_json_exits_2():
    res = CliRunner().invoke(solve_command, ["-"], input="{nope")
    assert res.exit_code == 2 and "error: $:" in res.stderr


def test_python_dash_m_runs_the_command():
    proc = subprocess.run([sys.executable, "-m", "dispatch.solver", "-", "--time-limit", "1", "--solution-limit", "20"],
                          input=json.dumps(VROOM_EXAMPLE), capture_output=True, text=True, cwd=ROOT, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["routes"] >= 1
