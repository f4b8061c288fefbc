"""One thread per VK root: the comments of a post are stored under the post's thread key
(``vk:wall<owner>_<post>``) instead of one of their own (``vk:vk_comment<owner>_<post>``), and
the threads under photos, videos, products and board topics are named after their root.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (old prefix, new prefix): kernel/contracts/messages.py, vk_thread_key.
RENAMED = (
    ("vk:vk_comment", "vk:wall"),
    ("vk:vk_photo_comment", "vk:photo"),
    ("vk:vk_video_comment", "vk:video"),
    ("vk:vk_market_comment", "vk:market"),
    ("vk:vk_board", "vk:topic"),
)


def upgrade() -> None:
    for old, new in RENAMED:
        _rekey(old, new, keep_posts=False)


def downgrade() -> None:
    for old, new in RENAMED:
        _rekey(new, old, keep_posts=new == "vk:wall")  # vk:wall is the posts' own key too


REKEY = (
    "UPDATE messages SET thread_key = :new || substr(thread_key, :cut)"
    # The prefix is followed by the owner id: 'vk:vk_comment' is no prefix of another kind's.
    " WHERE starts_with(thread_key, :old) AND substr(thread_key, :cut, 1) ~ '[-0-9]'"
    " AND NOT (:keep_posts AND starts_with(message_id, 'vk:vk_wall:'))"
)


def _rekey(old: str, new: str, *, keep_posts: bool) -> None:
    op.execute(sa.text(REKEY).bindparams(new=new, old=old, cut=len(old) + 1, keep_posts=keep_posts))
