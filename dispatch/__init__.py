"""The dispatch package: see DESIGN.md for what it owns."""
from __future__ import annotations


def init_app(app) -> None:
    """Register this package's blueprints, signal handlers and CLI commands."""
    from dispatch.desk import init_desk  # agent desk, faults, work-order pages and API

    init_desk(app)
    from dispatch.tech import init_tech  # technician phone pages and API

    init_tech(app)
    from dispatch.report_views import init_report  # service report, merchant's signed link

    init_report(app)
    from dispatch.replies_views import init_replies  # replies inbox, follow-ups of poor ratings

    init_replies(app)
    from dispatch.board import init_board  # dispatcher board: plan, adjust, publish

    init_board(app)
    import dispatch.merchant_notices  # noqa: F401  merchant SMS on work-order changes
    import dispatch.merchant_replies  # noqa: F401  survey scores and notes from merchant SMS
    from dispatch.worker_cli import init_worker_cli  # `fixroute worker`: RQ solves and SMS

    init_worker_cli(app)
    from dispatch.backup_views import init_backup  # backup terminals: loaner pool and switch

    init_backup(app)
