# Changes to credentials announced on the portal's change channel (accounts.changes), delivered
# at commit, so web processes forget what they remember of them: users with their personal
# access tokens, service principals with their secrets, and group memberships (what a user holds
# through their groups; registry 0010 adds role assignments and definitions). PostgreSQL only;
# SQLite has no notifications and its processes always read the rows.

from django.db import migrations

CHANNEL = "portcullis_changes"  # accounts.changes.CHANNEL, as of this migration
TABLES = (
    "accounts_user",
    "accounts_personalaccesstoken",
    "accounts_serviceprincipal",
    "accounts_serviceprincipalsecret",
    "accounts_groupmembership",
)

FUNCTION = f"""
CREATE FUNCTION accounts_credentials_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', 'credentials');
    RETURN NULL;
END
$$
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
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
    schema_editor.execute("DROP FUNCTION IF EXISTS accounts_credentials_changed()", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_entra_sign_in"),
    ]

    operations = [migrations.RunPython(forward, reverse)]
