# Group memberships announced as credential changes too (accounts.changes): what a user's
# groups are given decides what the user holds, and web processes remember that
# (registry.permissions.engine.HELD). PostgreSQL only, like 0006.

from django.db import migrations

TABLE = "accounts_groupmembership"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {TABLE} FOR EACH STATEMENT EXECUTE FUNCTION accounts_credentials_changed()",
            params=None,
        )


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_changes ON {TABLE}", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_credential_changes"),
    ]

    operations = [migrations.RunPython(forward, reverse)]
