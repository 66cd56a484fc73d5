"""Schemathesis over the whole documented API: no input may cause a server error.

Each operation gets generated requests as they come (mostly unknown ids, odd bodies)
and the same requests aimed at rows that exist (path ids and body references pointed
at the small world below), so the handlers' deeper paths run too."""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from dispatch.faults import create_fault, escalate
from tests.factories import bearer, make_world

EXAMPLES_PER_OPERATION = 6
SKIP = {
    ("POST", "/api/v1/auth/token/revoke"),  # would sign the rest of the run out
    ("POST", "/api/v1/plans/{plan_id}/solve"),  # starts a solver process per example
}


def test_no_input_makes_the_api_fail_with_a_server_error(app, client, db):
    w = make_world(db)
    escalate(db, create_fault(db, merchant=w.merchant, terminal=w.terminal, category="hw_printer"))
    open_fault = create_fault(db, merchant=w.merchant, terminal=w.terminal, category="net_host")
    real = {"merchant_id": w.merchant.id, "terminal_id": w.terminal.id,
            "fault_id": open_fault.id, "work_order_id": 1, "region_id": w.region.id,
            "technician_id": w.tech.id, "part_id": w.part.id, "location_id": w.van.id}
    headers = bearer(client, "admin")
    app.config["PROPAGATE_UNEXPECTED"] = False  # a crash must show up as a 500 here
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    calls = 0

    def call(op, case) -> None:
        nonlocal calls
        calls += 1
        response = case.call(headers=headers)
        if response.status_code >= 500:
            failures.append(f"{op.method.upper()} {op.path} -> {response.status_code}: "
                            f"{case.path_parameters} {case.query} {str(case.body)[:300]}")

    def exercise(op):
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  derandomize=True, suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case) -> None:
            call(op, case)
            if case.path_parameters:
                case.path_parameters = {k: real.get(k, 1) for k in case.path_parameters}
            if isinstance(case.body, dict):
                case.body = {k: (real[k] if k in real and v is not None else v)
                             for k, v in case.body.items()}
            call(op, case)

        run()

    try:
        for result in schema.get_all_operations():
            op = result.ok()
            if (op.method.upper(), op.path) not in SKIP:
                exercise(op)
    finally:
        app.config["PROPAGATE_UNEXPECTED"] = True
    assert calls >= 150
    assert failures == [], "\n".join(failures)
