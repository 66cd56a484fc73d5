"""Screenshots and photos of error screens, kept with the fault and the work order.

Only PNG, JPEG and WebP up to 10 MB and 40 megapixels are accepted, and the type is
read from the content with Pillow (the file name and the browser's content type are not
trusted). The pixel limit is checked from the image header before anything is decoded:
a 97 KB PNG can claim 10000 x 10000 pixels and would take gigabytes to decode.
Files are stored once per content under settings.upload_dir/<aa>/<sha256>.<ext>; the
Attachment row says which fault or work order it belongs to, and an audit row (entity
"attachment", action "added") records who attached it, in the same unit of work."""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from pathlib import Path

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from sqlmodel import Session

from core.audit import actor_fields, record_audit
from core.db import unit_of_work
from core.errors import InvalidInput, NotFound
from core.models import User
from core.timeutil import utcnow
from dispatch.models import Attachment, FaultReport, WorkOrder

MAX_BYTES = 10 * 1024 * 1024
ALLOWED_FORMATS = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg"),
                   "WEBP": ("image/webp", "webp")}
MAX_PIXELS = 40_000_000  # width x height; a 40 MP phone photo fits, a bomb does not
# Pillow's own guard, at the same limit: it warns above it and refuses above twice it;
# sniff_image turns the warning into a refusal too.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def sniff_image(data: bytes) -> tuple[str, str]:
    """(content type, extension) of a PNG, JPEG or WebP image, read from its bytes."""
    if not data:
        raise InvalidInput(_l("the file is empty"), field="file")
    if len(data) > MAX_BYTES:
        raise InvalidInput(_l("the file is larger than 10 MB"), field="file")
    too_big = InvalidInput(_l("the image is larger than %(mp)s megapixels",
                              mp=MAX_PIXELS // 1_000_000), field="file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:  # reads the header only
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise too_big
                fmt = img.format
                img.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_big from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidInput(_l("the file is not a PNG, JPEG or WebP image"),
                           field="file") from None
    if fmt not in ALLOWED_FORMATS:
        raise InvalidInput(_l("only PNG, JPEG or WebP images are accepted"), field="file")
    return ALLOWED_FORMATS[fmt]


def _safe_filename(name: str | None, ext: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = "".join(ch for ch in base if ch.isprintable())[:200]
    return base or f"image.{ext}"


def store_attachment(
    session: Session,
    *,
    data: bytes,
    filename: str | None,
    upload_dir: str,
    fault: FaultReport | None = None,
    work_order: WorkOrder | None = None,
    actor: User | None = None,
    commit: bool = True,
) -> Attachment:
    """Check, store (content-addressed) and record one image for a fault and/or work order:
    the file first (a file nobody records is harmless), then its row and its audit row as
    one unit of work (commit=False: part of the caller's)."""
    if fault is None and work_order is None:
        raise InvalidInput(_l("an attachment belongs to a fault or a work order"), field="file")
    content_type, ext = sniff_image(data)
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{digest[:2]}/{digest}.{ext}"
    path = Path(upload_dir) / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)  # atomic: a reader never sees half a file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    with unit_of_work(session, commit):
        work_order_id = work_order.id if work_order is not None else (
            fault.work_order_id if fault is not None else None)
        att = Attachment(
            fault_id=fault.id if fault is not None else None, work_order_id=work_order_id,
            filename=_safe_filename(filename, ext), content_type=content_type,
            size_bytes=len(data), sha256=digest, storage_path=rel,
            uploaded_by_user_id=actor.id if actor is not None else None, uploaded_at=utcnow(),
        )
        session.add(att)
        session.flush()  # the audit row names the attachment by its id
        record_audit(session, "attachment", att.id, "added", *actor_fields(actor),
                     work_order_id=att.work_order_id, fault_id=att.fault_id,
                     filename=att.filename, sha256=digest, size_bytes=att.size_bytes)
    return att


def attachment_path(upload_dir: str, attachment: Attachment) -> Path:
    path = (Path(upload_dir) / attachment.storage_path).resolve()
    if Path(upload_dir).resolve() not in path.parents or not path.is_file():
        raise NotFound(_l("the stored file is missing"), field="id")
    return path
