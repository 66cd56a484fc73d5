"""Alias of `dispatch.planning.large_plans.solve_part` under its old dotted name.

RQ stores a job's function as a dotted path (``dispatch.large_plans.solve_part``); the
parts of a large day queued in Redis before dispatch/ became feature packages still
name this module when a worker picks them up. Delete this file in the release after the
move (0.3), once no queue can hold a job enqueued by 0.1. Nothing in FixRoute imports it.
"""
from __future__ import annotations

from dispatch.planning.large_plans import solve_part

__all__ = ["solve_part"]
