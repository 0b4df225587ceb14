"""Root conftest: Alembic's env.py and migration scripts only run inside Alembic."""

collect_ignore_glob = ["src/riskloop/adapters/sql/migrations/*"]
