"""The domain's words: every enum code (a status, a kind, a skill, a fault category ...)
with its label in the reader's language, in one place.

`core` knows no domain package, so each package registers its own vocabularies from
its own module (``register("work_order_status", {"new": _l("New"), ...})``) and every
page, the phone, CSV headers and SMS ask here: ``word("work_order_status", wo.status)``
in Python, ``{{ wo.status|word('work_order_status') }}`` in a template.

An unregistered code is shown as it is (never an empty cell) and logged once, so a
missing label is visible on the page and caught by the page sweep test in Chinese.

Sentences the system writes into a work order's history (an eligibility reason, the
remote checks of an escalation) are kept as a code and its parameters in the event's
JSON data and said here in the reader's language by `sentence`; the English text stays
in the event's note for the audit and the API."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask_babel import force_locale, gettext
from jinja2 import pass_context

log = logging.getLogger(__name__)

Labels = Mapping[str, Any] | Callable[[], Mapping[str, Any]]

_VOCABULARIES: dict[str, Labels] = {}
_WARNED: set[tuple[str, str]] = set()

#: kinds whose labels are sentences with %(name)s parameters, not words: their codes
#: are not "enum values" a page could show raw.
_SENTENCE_KINDS: set[str] = set()


def register(kind: str, labels: Labels, *, sentences: bool = False) -> None:
    """Add (or extend) the vocabulary `kind`: code -> lazy label. `labels` may be a
    function returning the mapping, for labels made with pgettext at call time.
    Registering the same kind again merges the codes (a package can add its own)."""
    old = _VOCABULARIES.get(kind)
    if old is None:
        _VOCABULARIES[kind] = labels
    else:
        merged_old, merged_new = old, labels

        def merged() -> Mapping[str, Any]:
            return {**_resolve(merged_old), **_resolve(merged_new)}

        _VOCABULARIES[kind] = merged
    if sentences:
        _SENTENCE_KINDS.add(kind)


def _resolve(labels: Labels) -> Mapping[str, Any]:
    return labels() if callable(labels) else labels


def vocabulary(kind: str) -> dict[str, str]:
    """All codes of `kind` with their labels in the current language (for a select)."""
    labels = _VOCABULARIES.get(kind)
    if labels is None:
        raise KeyError(f"no vocabulary {kind!r}")
    return {code: str(label) for code, label in _resolve(labels).items()}


def kinds() -> list[str]:
    return sorted(_VOCABULARIES)


def codes(*, include_sentences: bool = False) -> dict[str, set[str]]:
    """Every registered code per kind (the page sweep looks for them in visible text)."""
    out: dict[str, set[str]] = {}
    for kind, labels in _VOCABULARIES.items():
        if kind in _SENTENCE_KINDS and not include_sentences:
            continue
        out[kind] = {str(c) for c in _resolve(labels) if c}
    return out


def has_word(kind: str, code: Any) -> bool:
    labels = _VOCABULARIES.get(kind)
    return labels is not None and code in _resolve(labels)


def word(kind: str, code: Any, default: str | None = None) -> str:
    """The label of `code` in the current language. None or "" give `default` (or "");
    an unknown code comes back as it is, so that it shows (and the Chinese page sweep
    catches it), and is logged once."""
    if code is None:
        return default if default is not None else ""
    code = str(code.value) if hasattr(code, "value") else code
    labels = _VOCABULARIES.get(kind)
    label = _resolve(labels).get(code) if labels is not None else None
    if label is not None:
        return str(label)
    if code == "":
        return default if default is not None else ""
    if (kind, str(code)) not in _WARNED:
        _WARNED.add((kind, str(code)))
        log.warning("no %s label for %r", kind, code)
    return str(code)


def word_or_text(kind: str, value: Any) -> str:
    """`value` in words when it is a code of `kind`, else as written (a column or a
    label that holds codes and free text alike, such as an event's actor)."""
    return word(kind, value) if has_word(kind, value) else ("" if value is None else str(value))


def words(kind: str, codes_: Iterable[Any], sep: str = ", ") -> str:
    """Several codes (a technician's skills) as one string."""
    return sep.join(word(kind, c) for c in codes_ or ())


def sentence(kind: str, code: str, params: Mapping[str, Any] | None = None,
             default: str = "") -> str:
    """A sentence the system wrote, said now: the registered template of `code` with
    its parameters; `default` (the English kept with the data) when the code is not
    known, so old rows still read."""
    labels = _VOCABULARIES.get(kind)
    template = _resolve(labels).get(code) if labels is not None else None
    if template is None:
        return default
    values = {}
    for key, value in (params or {}).items():
        if isinstance(value, dict) and "kind" in value and "code" in value:
            value = word(value["kind"], value["code"])  # a code inside the sentence
        elif isinstance(value, dict) and "msgid" in value:
            value = gettext(value["msgid"])  # an English text the catalogs translate
        elif isinstance(value, float):
            value = f"{value:.1f}"
        values[key] = value
    try:
        return str(template) % values if values else str(template)
    except (KeyError, TypeError, ValueError):
        log.warning("sentence %s/%s: parameters %r do not fit", kind, code, params)
        return default or str(template)


def in_english(fn: Callable[[], str]) -> str:
    """What `fn` says in English (the audit text kept beside the codes)."""
    with force_locale("en"):
        return fn()


def init_words(app) -> None:
    """`word`, `words` and `word_or_text` as Jinja filters, `vocabulary` and `sentence`
    as globals."""
    # pass_context keeps Jinja from folding `'repair'|word(...)` into the compiled
    # template in the language of its first reader
    @pass_context
    def word_filter(_ctx, code, kind, default=None):
        return word(kind, code, default)

    @pass_context
    def words_filter(_ctx, codes_, kind, sep=", "):
        return words(kind, codes_, sep)

    @pass_context
    def word_or_text_filter(_ctx, value, kind):
        return word_or_text(kind, value)

    app.jinja_env.filters["word"] = word_filter
    app.jinja_env.filters["words"] = words_filter
    app.jinja_env.filters["word_or_text"] = word_or_text_filter
    app.jinja_env.globals["vocabulary"] = vocabulary
    app.jinja_env.globals["sentence"] = sentence
