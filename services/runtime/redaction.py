"""``otklik redact``: a resident's personal data removed on request, in one transaction."""

from kernel.settings import Settings
from sla.stage import sla_for_command
from sla.storage.redaction import RedactionReport, redact


async def redact_personal_data(
    settings: Settings, *, author_ref: str | None, message_id: str | None, texts: bool
) -> RedactionReport:
    async with sla_for_command(settings) as context, context.db.transaction() as connection:
        return await redact(
            connection,
            now=context.clock(),
            author_ref=author_ref,
            message_id=message_id,
            texts=texts,
        )
