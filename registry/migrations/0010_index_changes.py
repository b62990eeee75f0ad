# Index stamps announced: each new stamp is also a notification on the portal's change channel
# (accounts.changes), delivered at commit, so web processes forget the stamps they remember.
# PostgreSQL only; SQLite has no notifications and its processes always read the stamp.

from django.db import migrations

CHANNEL = "portcullis_changes"  # accounts.changes.CHANNEL, as of this migration

STAMP = """
CREATE OR REPLACE FUNCTION registry_index_stamp(registry_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO registry_indexstamp (registry_id, stamp)
    SELECT touched.id, floor((random() - 0.5) * 18014398509481984)::bigint
    FROM (SELECT DISTINCT unnest(registry_ids) AS id) AS touched
    WHERE touched.id IS NOT NULL
    ON CONFLICT (registry_id) DO UPDATE SET stamp = EXCLUDED.stamp;
    {announce}
$$
"""
# One notification per registry and transaction: PostgreSQL folds repeated payloads.
ANNOUNCE = (
    f"SELECT pg_notify('{CHANNEL}', 'index:' || touched.id) "  # noqa: S608 - constants only
    "FROM (SELECT DISTINCT unnest(registry_ids) AS id) AS touched "
    "WHERE touched.id IS NOT NULL;"
)


def _replace(announce):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(STAMP.format(announce=announce), params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0009_index_stamps"),
    ]

    operations = [migrations.RunPython(_replace(ANNOUNCE), _replace(""))]
