"""English and Simplified Chinese through Flask-Babel. Each package keeps its own
catalog under <package>/translations so that packages can be translated apart;
Flask-Babel merges the directories."""
from __future__ import annotations

from flask import has_request_context, request, session
from flask_babel import Babel
from flask_login import current_user

from core.settings import PROJECT_ROOT

LANGUAGES = {"en": "English", "zh": "中文"}
TRANSLATION_DIRS = [
    PROJECT_ROOT / "core" / "translations",
    PROJECT_ROOT / "dispatch" / "translations",
    PROJECT_ROOT / "inventory" / "translations",
    PROJECT_ROOT / "maintenance" / "translations",
    PROJECT_ROOT / "notifications" / "translations",
]

babel = Babel()


def select_locale() -> str:
    if not has_request_context():
        return "en"
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in LANGUAGES:
        return current_user.locale
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


def init_i18n(app) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(p) for p in TRANSLATION_DIRS)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    babel.init_app(app, locale_selector=select_locale)


def msgid(lazy) -> str:
    """The English source text of a lazy_gettext string (for data stored in the database)."""
    args = getattr(lazy, "_args", None)
    return str(args[0]) if args else str(lazy)
