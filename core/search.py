"""Text search in SQL: the one way FixRoute turns what a user typed into a LIKE pattern.

In LIKE, `%` and `_` are wildcards: a search for "%" matched every merchant and every
work order. `contains` escapes them (and the escape character itself) so that what the
user typed is matched literally, as a substring, case-insensitively by default. Every
search box goes through it (merchants, work orders, terminals)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func

LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """`text` with LIKE's wildcards and the escape character made literal."""
    return (text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
            .replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_"))


def contains(column: Any, text: str, *, case_sensitive: bool = False) -> Any:
    """A WHERE clause: `column` contains `text` literally (wildcards escaped)."""
    if case_sensitive:
        return column.like(f"%{escape_like(text)}%", escape=LIKE_ESCAPE)
    return func.lower(column).like(f"%{escape_like(text.lower())}%", escape=LIKE_ESCAPE)
