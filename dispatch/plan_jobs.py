"""Alias of `dispatch.planning.jobs.run_plan_job` under its old dotted name.

RQ stores a job's function as a dotted path (``dispatch.plan_jobs.run_plan_job``); plan
solves queued in Redis before dispatch/ became feature packages still name this module
when a worker picks them up. Delete this file in the release after the move (0.3), once
no queue can hold a job enqueued by 0.1. Nothing in FixRoute imports it.
"""
from __future__ import annotations

from dispatch.planning.jobs import run_plan_job

__all__ = ["run_plan_job"]
