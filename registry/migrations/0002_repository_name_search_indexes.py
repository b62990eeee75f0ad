"""PostgreSQL indexes for the repository browser's namespace filter and search.

``name LIKE 'team-a/%'`` can use a B-tree index as a range only under the C collation or with
``varchar_pattern_ops``; ``name LIKE '%app%'`` needs a trigram index not to read every row.
Both stay flat as a registry grows (bench/catalog.py). Other databases have neither and do not
need them for the sizes they are used at (development, tests).
"""

import logging

from django.db import migrations, transaction

logger = logging.getLogger(__name__)

PREFIX_INDEX = (
    "CREATE INDEX IF NOT EXISTS repository_name_prefix "
    "ON registry_repository (registry_id, name varchar_pattern_ops)"
)
TRIGRAM_INDEX = (
    "CREATE INDEX IF NOT EXISTS repository_name_trigram "
    "ON registry_repository USING gin (name gin_trgm_ops)"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(PREFIX_INDEX)
    try:
        # pg_trgm is a trusted extension: any role that may create objects in the database
        # may install it. Where even that is not allowed, search works without the index.
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(TRIGRAM_INDEX)
    except Exception as exc:  # noqa: BLE001 - any refusal leaves search unindexed, not broken
        logger.warning("Repository search is not indexed (pg_trgm unavailable): %s", exc)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS repository_name_trigram")
    schema_editor.execute("DROP INDEX IF EXISTS repository_name_prefix")


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
