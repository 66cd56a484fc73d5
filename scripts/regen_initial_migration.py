"""Regenerate migrations/versions/0001_initial_schema.py from the models.

FixRoute has not been released, so while the first cut of the schema settles the
initial migration is rebuilt rather than stacked with revisions. Once a database
exists in production, use `alembic revision --autogenerate` instead and delete this."""
from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from core.migrate import alembic_config

ROOT = Path(__file__).resolve().parent.parent
target = ROOT / "migrations" / "versions" / "0001_initial_schema.py"

with tempfile.TemporaryDirectory() as tmp:
    if target.exists():
        target.unlink()
    cfg = alembic_config(f"sqlite:///{tmp}/empty.db")
    command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
text = target.read_text()
text = "\n".join(line for line in text.splitlines() if not line.startswith("Create Date:")) + "\n"
text = text.replace("import core.db\n", "import core.db  # noqa: F401  (UTCDateTime)\n")
target.write_text(text)
print(f"wrote {target.relative_to(ROOT)}")
