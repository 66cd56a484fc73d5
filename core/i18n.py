"""English and Simplified Chinese through Flask-Babel. Each package keeps its own
catalog under <package>/translations so that packages can be translated apart;
Flask-Babel merges the directories."""
from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import has_request_context, request, session
from flask_babel import Babel, force_locale
from flask_babel.speaklater import LazyString
from flask_login import current_user

from core.errors import set_english_renderer
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
    from core.words import init_words

    init_words(app)


def msgid(lazy) -> str:
    """The English source text of a lazy_gettext string (for data stored in the database)."""
    args = getattr(lazy, "_args", None)
    return str(args[0]) if args else str(lazy)


def in_english(text) -> str:
    """`text` (a lazy_gettext string, or anything else) as English text: for logs and for
    notes kept in the database, which do not change with the reader's language."""
    with force_locale("en"):
        return str(text)


set_english_renderer(in_english)  # core.errors' message_en and fields_en


def lazy_word(words: Callable[[], Mapping[str, str]], code: str) -> LazyString:
    """A code (a status, a kind) as a sentence names it, in the reader's language.

    `words()` maps codes to ``pgettext(context, english)`` calls whose English is the
    code as the English sentences have always said it, so English text does not change
    while Chinese says 已完成 instead of "completed"; an unknown code stays as it is."""
    return LazyString(lambda: str(words().get(code, code)))
