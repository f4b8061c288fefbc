"""VK attachments as the moderator sees them: a photo's thumbnail and original, a document's and
a link's URL and title, a video's page. The comment below is checked against VK's published
schema (tools/vk_api_schema/) first, so the fields read are the ones VK sends."""

from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.domain.vk_attachments import pick_sizes
from ingest.domain.vk_events import normalise_vk_event
from kernel.contracts.messages import Attachment
from tests.unit.test_ingest_domain import CATALOG, event
from tools.vk_schema import check_response

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
CDN = "https://sun9-21.userapi.com/impg/yama.jpg?size={w}x{h}&sign=f00d&type=album"


def size(kind: str, width: int, height: int) -> dict[str, Any]:
    return {"type": kind, "url": CDN.format(w=width, h=height), "width": width, "height": height}


PHOTO = {
    "id": 457239017, "album_id": -7, "owner_id": 55, "date": 1788253100, "text": "",
    "has_tags": False,
    "sizes": [size("s", 75, 56), size("m", 130, 98), size("x", 604, 453), size("q", 320, 240),
              size("p", 200, 150), size("r", 510, 383), size("z", 1280, 960)],
}  # fmt: skip
DOC = {
    "id": 6400, "owner_id": 55, "title": "Акт осмотра.pdf", "size": 52100, "ext": "pdf",
    "url": "https://vk.com/doc55_6400?hash=ab12&dl=cd34", "date": 1788253000, "type": 1,
}  # fmt: skip
LINK = {"url": "https://gorod.example/news/17", "title": "Новость о ремонте", "caption": "gorod"}
VIDEO = {
    "id": 456239100, "owner_id": 55, "title": "Яма на Садовой", "duration": 12,
    "image": [{"url": "https://sun9-3.userapi.com/v/1.jpg", "width": 130, "height": 96},
              {"url": "https://sun9-3.userapi.com/v/2.jpg", "width": 800, "height": 450}],
}  # fmt: skip
COMMENT = {
    "id": 7, "from_id": 55, "date": 1788253200, "text": "Вот фото ямы", "post_id": 3,
    "owner_id": -1,
    "attachments": [{"type": "photo", "photo": PHOTO}, {"type": "doc", "doc": DOC},
                    {"type": "link", "link": LINK}, {"type": "video", "video": VIDEO},
                    {"type": "sticker", "sticker": {"sticker_id": 9, "product_id": 1}}],
}  # fmt: skip


def test_the_comment_is_what_vk_publishes() -> None:
    assert check_response("wall.getComments", {"count": 1, "items": [COMMENT]}) == []


def test_each_attachment_keeps_its_link_title_and_thumbnail() -> None:
    message = normalise_vk_event(event("wall_reply_new", COMMENT), CATALOG, NOW)
    assert message is not None
    photo, doc, link, video, sticker = message.attachments
    assert photo == Attachment(
        kind="photo", url=CDN.format(w=1280, h=960), preview=CDN.format(w=320, h=240)
    )
    assert doc == Attachment(kind="doc", url=DOC["url"], name="Акт осмотра.pdf")
    assert link == Attachment(kind="link", url=LINK["url"], name="Новость о ремонте")
    assert video == Attachment(
        kind="video", url="https://vk.com/video55_456239100", name="Яма на Садовой",
        preview="https://sun9-3.userapi.com/v/2.jpg",
    )  # fmt: skip
    assert sticker == Attachment(kind="sticker")


def test_a_photo_smaller_than_a_thumbnail_is_shown_at_its_largest() -> None:
    assert pick_sizes([size("s", 75, 56), size("m", 130, 98)]) == (
        CDN.format(w=130, h=98), CDN.format(w=130, h=98),
    )  # fmt: skip


def test_an_old_photo_without_dimensions_is_sized_by_its_type() -> None:
    """VK gives 0×0 for photos uploaded before 2012; the type still says the size."""
    old = [size("x", 0, 0), size("m", 0, 0), size("q", 0, 0)]
    assert pick_sizes(old) == (CDN.format(w=0, h=0), CDN.format(w=0, h=0))
    assert pick_sizes(old)[0] == old[2]["url"] and pick_sizes(old)[1] == old[0]["url"]


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:image/png;base64,AAAA", "//evil.example/x", "", 5]
)
def test_only_http_urls_are_kept(url: object) -> None:
    photo = {**PHOTO, "sizes": [{"type": "x", "url": url, "width": 604, "height": 453}]}
    obj = {**COMMENT, "attachments": [{"type": "photo", "photo": photo},
                                      {"type": "link", "link": {**LINK, "url": url}}]}  # fmt: skip
    message = normalise_vk_event(event("wall_reply_new", obj), CATALOG, NOW)
    assert message is not None
    assert message.attachments == (
        Attachment(kind="photo"),
        Attachment(kind="link", name=LINK["title"]),
    )


@pytest.mark.parametrize(
    "body", [None, "photo", [1], {"sizes": "many"}, {"sizes": [None, {"url": None}]}]
)
def test_a_malformed_attachment_keeps_only_its_kind(body: object) -> None:
    obj = {**COMMENT, "attachments": [{"type": "photo", "photo": body}]}
    message = normalise_vk_event(event("wall_reply_new", obj), CATALOG, NOW)
    assert message is not None and message.attachments == (Attachment(kind="photo"),)


def test_a_stored_attachment_of_before_reads_as_a_kind_alone() -> None:
    """Rows written before the URLs were kept hold only the kind."""
    assert Attachment.model_validate({"kind": "photo"}) == Attachment(kind="photo")
