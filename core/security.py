"""Browser-facing defences shared by every package: where a redirect may lead after
sign-in or a language switch, and the security headers every answer carries.

The Content-Security-Policy allows scripts only from this site ('self') or with the
request's nonce (`csp_nonce()` in templates); no page needs an inline script today
(page data travels in `<script type="application/json">` blocks, which are not run).
Styles allow 'unsafe-inline' on purpose: the board's timeline and colour swatches set
computed positions and colours in `style=` attributes, and a style cannot run code."""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request

# Browsers drop these anywhere in a URL before parsing it (WHATWG URL standard).
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")


def _strip_c0_and_space(value: str) -> str:
    """Leading and trailing C0 controls and spaces are dropped by browsers too."""
    start, end = 0, len(value)
    while start < end and ord(value[start]) <= 0x20:
        start += 1
    while end > start and ord(value[end - 1]) <= 0x20:
        end -= 1
    return value[start:end]


def safe_next(target: str | None) -> str | None:
    """The same-site path a `next` parameter may send the browser to, or None.

    The value is first normalised the way a browser would read it in a Location
    header — tabs and newlines removed, surrounding controls and spaces stripped,
    backslashes read as slashes — so that `/\\t/evil.example` or `/\\\\evil.example`
    cannot become the protocol-relative `//evil.example` after our check. Only a
    path starting with a single `/` passes; the normalised form is returned."""
    if not target:
        return None
    value = _strip_c0_and_space(target).translate(_TAB_OR_NEWLINE).replace("\\", "/")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return None
    if not value.startswith("/") or value.startswith("//"):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def same_site_referrer() -> str | None:
    """The path and query of the Referer if it is a page of this site, else None."""
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc != request.host:
        return None
    path = parts.path + ("?" + parts.query if parts.query else "")
    return safe_next(path)


def csp_nonce() -> str:
    """This request's nonce for an inline `<script nonce="...">`, made on first use."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def _tile_source(tile_url: str | None) -> str:
    """The origin the board's map tiles come from, as a CSP source expression
    (`{s}.tile.example` becomes `*.tile.example`)."""
    if not tile_url:
        return ""
    parts = urlsplit(tile_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    host = parts.netloc
    if "{" in host:
        labels = host.split(".")
        host = ".".join("*" if "{" in label else label for label in labels)
        if not host.startswith("*.") or "{" in host or host.count("*") > 1:
            return ""
    return f"{parts.scheme}://{host}"


def content_security_policy(nonce: str, tile_url: str | None = None) -> str:
    """The policy every answer carries; see the module docstring for why each part."""
    tiles = _tile_source(tile_url)
    img = "'self' data: blob:" + (f" {tiles}" if tiles else "")
    directives = [
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {img}",
        "connect-src 'self'",
        "font-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def _add_security_headers(response: Response) -> Response:
    settings = current_app.config.get("FIXROUTE")
    tile_url = getattr(settings, "map_tile_url", None)
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce(), tile_url))
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Map tile servers (OpenStreetMap) ask for a Referer; the origin is enough for them
    # and keeps ids in our paths and queries from leaving the site.
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response


def init_security(app: Flask) -> None:
    """Every answer (pages, errors, API, static files) gets the security headers."""
    app.after_request(_add_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
