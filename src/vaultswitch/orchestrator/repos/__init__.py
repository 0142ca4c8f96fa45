"""Database functions per resource: plain functions of a SQLAlchemy ``Connection`` that
take the caller's ``merchant_id`` and return frozen records (never rows)."""
