"""Where a resident is shown to lead: their VK profile, their e-mail; nothing once redacted."""

import pytest

from sla.domain.residents import is_redacted, mail_link, vk_profile


@pytest.mark.parametrize(
    ("ref", "profile"),
    [
        ("vk:id123", "https://vk.com/id123"),
        ("vk:club210000001", "https://vk.com/club210000001"),
        ("vk:123", "https://vk.com/id123"),
        ("vk:-123", "https://vk.com/club123"),
        ("redacted:0123456789abcdef", None),
        ("jitel@example.ru", None),
        ("vk:id123/../evil", None),
        ("vk:idx", None),
        (None, None),
    ],
)
def test_a_vk_author_links_to_the_profile_or_community(
    ref: str | None, profile: str | None
) -> None:
    assert vk_profile(ref) == profile


@pytest.mark.parametrize(
    ("contact", "link"),
    [
        ("jitel@example.ru", "mailto:jitel@example.ru"),
        ("+7 900 000-00-00", None),
        ('a@b.ru" onclick="x', None),
        ("Иван Петров", None),
        (None, None),
    ],
)
def test_an_e_mail_contact_is_a_mailto_link(contact: str | None, link: str | None) -> None:
    assert mail_link(contact) == link


def test_a_redacted_ref_is_recognised() -> None:
    assert is_redacted("redacted:0123456789abcdef") and not is_redacted("vk:id1")
    assert not is_redacted(None)
