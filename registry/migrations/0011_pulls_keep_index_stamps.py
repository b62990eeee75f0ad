# A pull is not a change to what the index lists: recording one (``last_pulled_at`` on a manifest
# or tag, written for every pull event) no longer renews the registry's index stamp, so kept
# list pages and remembered stamps survive a cluster pulling images all day. Any other change
# to those rows, alone or together with a pull, still renews it. Nothing kept under a stamp may
# show ``last_pulled_at``.

from django.db import migrations

# PostgreSQL: the statement-level trigger function of manifests and tags (0009), its UPDATE
# branch now counting only rows where more than last_pulled_at changed.
POSTGRESQL_FUNCTION = """
CREATE OR REPLACE FUNCTION registry_index_touched_by_repository_id() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM registry_index_stamp(ARRAY(
            SELECT r.registry_id FROM new_rows t
            JOIN registry_repository r ON r.id = t.repository_id));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM registry_index_stamp(ARRAY(
            SELECT r.registry_id FROM old_rows t
            JOIN registry_repository r ON r.id = t.repository_id));
    ELSE
        PERFORM registry_index_stamp(ARRAY(
            SELECT r.registry_id FROM new_rows n
            JOIN old_rows o ON o.id = n.id
            JOIN registry_repository r ON r.id IN (n.repository_id, o.repository_id)
            WHERE {changed}));
    END IF;
    RETURN NULL;
END
$$
"""
CHANGED = "to_jsonb(n) - 'last_pulled_at' IS DISTINCT FROM to_jsonb(o) - 'last_pulled_at'"

# SQLite: row-level UPDATE triggers (0009) limited to the other columns.
SQLITE_TABLES = {"registry_manifest": "Manifest", "registry_tag": "Tag"}
SQLITE_UPDATE = (
    "CREATE TRIGGER {table}_index_update AFTER UPDATE{columns} ON {table} BEGIN "
    "INSERT INTO registry_indexstamp (registry_id, stamp) "
    "SELECT registry_id, random() FROM registry_repository "
    "WHERE id IN (OLD.repository_id, NEW.repository_id) "
    "ON CONFLICT (registry_id) DO UPDATE SET stamp = excluded.stamp; END"
)


def _columns_but_pulls(apps, model_name):
    model = apps.get_model("registry", model_name)
    return ", ".join(
        field.column for field in model._meta.concrete_fields if field.column != "last_pulled_at"
    )


def _migrate(pulls_renew):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            changed = "true" if pulls_renew else CHANGED
            schema_editor.execute(POSTGRESQL_FUNCTION.format(changed=changed), params=None)
        elif vendor == "sqlite":
            for table, model_name in SQLITE_TABLES.items():
                columns = "" if pulls_renew else f" OF {_columns_but_pulls(apps, model_name)}"
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_index_update", params=None)
                schema_editor.execute(
                    SQLITE_UPDATE.format(table=table, columns=columns), params=None
                )

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0010_index_changes"),
    ]

    operations = [migrations.RunPython(_migrate(pulls_renew=False), _migrate(pulls_renew=True))]
