"""Recognising the kind of an official reply (pure)."""

# An official reply with one of these is an intermediate answer ("taken into work"), not final.
INTERMEDIATE_REPLY_MARKERS = (
    "взяли в работу",
    "взято в работу",
    "принято в работу",
    "ответим",
    "уточняем",
    "уточним",
    "разбираемся",
)


def is_intermediate_reply(text: str) -> bool:
    lowered = text.lower().replace("ё", "е")
    return any(marker in lowered for marker in INTERMEDIATE_REPLY_MARKERS)
