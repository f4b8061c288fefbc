"""Who wrote a message, as the moderator is shown them: where their VK profile is, how to write
back to an e-mail appeal, whether their data were removed on request. Pure."""

import re

REDACTED_PREFIX = "redacted:"  # sla.storage.redaction's pseudonym of a removed author
# otklik's VK author refs are vk:id123 (a person) and vk:club123 (a community, VK's negative
# owner id); a bare number, negative for a community, is read the same way.
_VK_REF = re.compile(r"vk:(?:(id|club)(\d+)|(-?)(\d+))")
_EMAIL = re.compile(r"[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+")


def is_redacted(ref: str | None) -> bool:
    return ref is not None and ref.startswith(REDACTED_PREFIX)


def vk_profile(ref: str | None) -> str | None:
    """The profile page of a VK author: vk.com/id123 for a person, vk.com/club123 for a
    community; None for any other ref."""
    found = _VK_REF.fullmatch(ref or "")
    if found is None:
        return None
    prefix, number, minus, bare = found.groups()
    if prefix is None:
        prefix, number = ("club" if minus else "id"), bare
    return f"https://vk.com/{prefix}{int(number)}"


def mail_link(contact: str | None) -> str | None:
    """A mailto: link for an e-mail address (an e-mail appeal's contact); None otherwise."""
    if contact is None or _EMAIL.fullmatch(contact) is None:
        return None
    return f"mailto:{contact}"
