"""Exit 0 when the PostgreSQL at the given URL answers a query."""
import sys

import psycopg

url = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/test"
try:
    with psycopg.connect(url, connect_timeout=3) as conn:
        conn.execute("SELECT 1")
except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
    print(f"PostgreSQL not ready: {exc}", file=sys.stderr)
    sys.exit(1)
