"""Alias of the SMS drain job (`notifications.sender.drain_outbox_job`) under its old
dotted name.

RQ stores a job's function as a dotted path (``dispatch.queues.drain_outbox_job``); SMS
drains queued in Redis before dispatch/ became feature packages still name this module
when a worker picks them up. Delete this file in the release after the move (0.3), once
no queue can hold a job enqueued by 0.1. Nothing in FixRoute imports it.
"""
from __future__ import annotations

from notifications.sender import drain_outbox_job

__all__ = ["drain_outbox_job"]
