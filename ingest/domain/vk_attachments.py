"""What the moderator sees of a VK attachment: a link to it and, for a photo, a thumbnail. Pure.

Read per VK's published object schemas (tools/vk_api_schema/): a photo (photos_photo) has
``sizes[]`` with ``type``, ``url``, ``width`` and ``height``; a document (docs_doc) and a link
(base_link) have ``url`` and ``title``; a video (video_video) has no direct URL, so the link is
its page on vk.com, and ``image[]`` its frames. Anything malformed leaves only the kind: an
attachment is context, never a reason to lose the resident's message.
"""

from typing import Any
from urllib.parse import urlsplit

from kernel.contracts.messages import Attachment

# px: twice the 160 CSS px the incident page draws a thumbnail at, so it is sharp on a phone's
# 2x screen without loading a large copy.
THUMBNAIL_SIDE = 320
MAX_URL_CHARS = 2000
MAX_NAME_CHARS = 200
# The longer side of each size type VK documents (dev.vk.com, «Формат описания размеров
# фотографии»), for photos uploaded before 2012, whose width and height are 0.
_TYPE_SIDES = {
    "s": 75, "m": 130, "o": 130, "p": 200, "q": 320, "r": 510, "x": 604, "y": 807,
    "z": 1080, "w": 2560,
}  # fmt: skip


def attachment_of(item: dict[str, Any], kind: str) -> Attachment:
    """``item`` is one element of an ``attachments`` list: ``{"type": kind, kind: {...}}``."""
    body = item.get(kind)
    if not isinstance(body, dict):
        return Attachment(kind=kind)
    if kind == "photo":
        preview, original = pick_sizes(body.get("sizes"))
        return Attachment(kind=kind, url=original, preview=preview)
    if kind == "video":
        preview, _ = pick_sizes(body.get("image"))
        return Attachment(kind=kind, url=_video_page(body), name=_name(body), preview=preview)
    if kind in {"doc", "link"}:
        photo = body.get("photo")
        preview, _ = pick_sizes(photo.get("sizes") if isinstance(photo, dict) else None)
        return Attachment(
            kind=kind, url=web_url(body.get("url")), name=_name(body), preview=preview
        )
    return Attachment(kind=kind)


def pick_sizes(sizes: object) -> tuple[str | None, str | None]:
    """(the thumbnail, the original) of a photo's sizes: the thumbnail is the smallest copy at
    least THUMBNAIL_SIDE px on its longer side (sharp at the drawn size without loading a large
    file), or the largest copy when all are smaller; the original is the largest copy."""
    items = sizes if isinstance(sizes, list) else []
    found = sorted(
        (_side(size), url)
        for size in items if isinstance(size, dict)
        for url in [web_url(size.get("url", size.get("src")))] if url
    )  # fmt: skip
    if not found:
        return None, None
    preview = next((url for side, url in found if side >= THUMBNAIL_SIDE), found[-1][1])
    return preview, found[-1][1]


def web_url(value: object) -> str | None:
    """Only an http(s) URL is kept: it is put into a page as a link or an image source."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_URL_CHARS:
        return None
    parts = urlsplit(value)
    return value if parts.scheme in {"http", "https"} and parts.netloc else None


def _side(size: dict[str, Any]) -> int:
    sides = [v for v in (size.get("width"), size.get("height")) if type(v) is int and v > 0]
    if sides:
        return max(sides)
    kind = size.get("type")
    return _TYPE_SIDES.get(kind, 0) if isinstance(kind, str) else 0


def _video_page(video: dict[str, Any]) -> str | None:
    owner, number = video.get("owner_id"), video.get("id")
    if type(owner) is not int or type(number) is not int:
        return None
    return f"https://vk.com/video{owner}_{number}"


def _name(body: dict[str, Any]) -> str | None:
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        return None
    return title[:MAX_NAME_CHARS]
