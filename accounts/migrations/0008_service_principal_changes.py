# Service principals and their secrets announced as credential changes too (accounts.changes):
# web processes remember secrets with their principals (ServicePrincipalSecret.find).
# PostgreSQL only, like 0006.

from django.db import migrations

TABLES = ("accounts_serviceprincipal", "accounts_serviceprincipalsecret")


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
        ("accounts", "0007_group_membership_changes"),
    ]

    operations = [migrations.RunPython(forward, reverse)]
