"""Extract, update and compile the en/zh catalogs, one per package.

    python scripts/i18n.py update   # after adding strings: refresh <pkg>/translations/zh
    python scripts/i18n.py compile  # .po -> .mo (make install does this)
    python scripts/i18n.py check    # fail if a zh translation is missing or fuzzy
    python scripts/i18n.py set PKG FILE.json   # merge {"msgid": "译文"} into PKG's zh catalog
                                               # (a pgettext msgid: "context\\u0004msgid")

Each package owns its strings and the templates/<pkg>/ folder, so packages can be
translated without touching each other's catalog."""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "core": ["core", "app.py", "templates/core", "templates/auth", "templates/admin",
             "templates/base.html"],
    "dispatch": ["dispatch", "templates/dispatch"],
    "inventory": ["inventory", "templates/inventory"],
    "maintenance": ["maintenance", "templates/maintenance"],
    "notifications": ["notifications", "templates/notifications"],
}
PYBABEL = [sys.executable, "-m", "babel.messages.frontend", "-q"]


def _run(*args: str) -> None:
    subprocess.run([*PYBABEL, *args], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def update() -> None:
    for pkg, sources in PACKAGES.items():
        sources = [s for s in sources if (ROOT / s).exists()]
        if not sources:
            continue
        pot = Path(tempfile.mkdtemp()) / "messages.pot"
        _run("extract", "-F", "babel.cfg", "-k", "_l", "--no-location", "--sort-output",
             "-o", str(pot), *sources)
        tdir = ROOT / pkg / "translations"
        po = tdir / "zh" / "LC_MESSAGES" / "messages.po"
        if po.exists():
            _run("update", "-i", str(pot), "-d", str(tdir), "-l", "zh", "--no-fuzzy-matching",
                 "--ignore-obsolete")
        else:
            _run("init", "-i", str(pot), "-d", str(tdir), "-l", "zh")


def compile_all() -> None:
    for pkg in PACKAGES:
        tdir = ROOT / pkg / "translations"
        if (tdir / "zh" / "LC_MESSAGES" / "messages.po").exists():
            _run("compile", "-d", str(tdir), "-l", "zh")


def missing() -> dict[str, list[str]]:
    """Messages in the code or templates that have no Chinese translation yet."""
    out: dict[str, list[str]] = {}
    for pkg, sources in PACKAGES.items():
        sources = [s for s in sources if (ROOT / s).exists()]
        if not sources:
            continue
        pot = Path(tempfile.mkdtemp()) / "messages.pot"
        _run("extract", "-F", "babel.cfg", "-k", "_l", "--no-location", "-o", str(pot), *sources)
        with open(pot, "rb") as fh:
            wanted = [m for m in read_po(fh) if m.id]
        po = ROOT / pkg / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
        have = {}
        if po.exists():
            with open(po, "rb") as fh:
                have = {(m.id, m.context): m for m in read_po(fh) if m.id}
        for m in wanted:
            t = have.get((m.id, m.context))
            ok = t is not None and not t.fuzzy and (
                all(t.string) if isinstance(t.string, tuple) else bool(t.string))
            if not ok:
                out.setdefault(pkg, []).append(m.id if isinstance(m.id, str) else m.id[0])
    return out


def set_translations(pkg: str, mapping: dict[str, str]) -> int:
    from babel.messages.pofile import write_po

    po = ROOT / pkg / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
    with open(po, "rb") as fh:
        catalog = read_po(fh)
    changed = 0
    for key, text in mapping.items():
        context, _sep, msg_id = key.rpartition("\x04")  # gettext's own context separator
        context = context or None
        msg = catalog.get(msg_id, context=context)
        if msg is None:
            catalog.add(msg_id, text, context=context)
        else:
            msg.string = text
            msg.flags.discard("fuzzy")
        changed += 1
    with open(po, "wb") as fh:
        write_po(fh, catalog, sort_output=True, omit_header=False, include_lineno=False)
    return changed


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "compile"
    if cmd == "update":
        update()
    elif cmd == "compile":
        compile_all()
    elif cmd == "check":
        gaps = missing()
        for pkg, ids in gaps.items():
            for i in ids:
                print(f"{pkg}: missing zh for {i!r}")
        sys.exit(1 if gaps else 0)
    elif cmd == "set":
        import json

        print(set_translations(sys.argv[2], json.loads(Path(sys.argv[3]).read_text("utf-8"))))
    else:
        sys.exit(__doc__)
