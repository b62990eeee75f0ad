# Role assignments and role definitions announced as credential changes (accounts.changes):
# web processes remember what each principal holds (registry.permissions.engine.HELD) while
# none of them changes. PostgreSQL only, with accounts' trigger function (accounts 0006).

from django.db import migrations

TABLES = ("registry_roleassignment", "registry_roledefinition")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION accounts_credentials_changed()",
            params=None,
        )


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_changes ON {table}", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_credential_changes"),
        ("registry", "0011_pulls_keep_index_stamps"),
    ]

    operations = [migrations.RunPython(forward, reverse)]
