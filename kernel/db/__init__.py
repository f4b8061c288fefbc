"""Persistence shared by every stage: schema, engine, migrations and the transactional outbox."""
