"""Appeal channels: HTTP intake, CSV/XLSX import and an IMAP mailbox, normalised to RawMessage.

``domain`` is the pure core (records and e-mails to messages); ``intake``, ``importer`` and
``imap`` are the adapters that read the outside world and publish durably.
"""
