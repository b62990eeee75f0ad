# Changes announced on the portal's change channel (accounts.changes), delivered at commit, so
# web processes forget what they remember: each new index stamp (``index:<registry id>``), and
# role assignments and definitions as credential changes (what a principal holds), with the
# trigger function of accounts 0006. PostgreSQL only; SQLite has no notifications and its
# processes always read the rows.

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


ROLE_TABLES = ("registry_roleassignment", "registry_roledefinition")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(STAMP.format(announce=ANNOUNCE), params=None)
    for table in ROLE_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION accounts_credentials_changed()",
            params=None,
        )


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in ROLE_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_changes ON {table}", params=None)
    schema_editor.execute(STAMP.format(announce=""), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_credential_changes"),
        ("registry", "0009_index_stamps"),
    ]

    operations = [migrations.RunPython(forward, reverse)]
