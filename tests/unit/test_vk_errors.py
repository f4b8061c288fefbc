"""What otklik does about each VK error code (the codes are VK's documented ones)."""

import pytest

from ingest.vk.errors import ErrorAction, action_for


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (6, ErrorAction.RETRY),
        (9, ErrorAction.RETRY),
        (10, ErrorAction.RETRY),
        (29, ErrorAction.PAUSE_METHOD),
        (5, ErrorAction.TOKEN_INVALID),
        (15, ErrorAction.INACCESSIBLE),
        (18, ErrorAction.INACCESSIBLE),
        (30, ErrorAction.INACCESSIBLE),
        (212, ErrorAction.INACCESSIBLE),
        (203, ErrorAction.INACCESSIBLE),
        (14, ErrorAction.PAUSE_TOKEN),
        (13, ErrorAction.SHRINK),
        (100, ErrorAction.FAIL),
        (0, ErrorAction.FAIL),
    ],
)
def test_each_documented_code_has_its_action(code: int, action: ErrorAction) -> None:
    assert action_for(code) is action
