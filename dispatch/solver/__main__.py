"""``python -m dispatch.solver PROBLEM.json --time-limit S``: the solve command without the app."""

from .cli import solve_command

if __name__ == "__main__":  # pragma: no cover
    solve_command(prog_name="python -m dispatch.solver")
