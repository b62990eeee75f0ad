# Index stamps: a random value per registry that the database itself renews whenever a row the
# index lists changes (registry.models.index.IndexStamp). Triggers on PostgreSQL and SQLite;
# on any other database no stamp is written, and nothing that depends on one is cached.

from django.db import migrations, models

# A new random stamp for each registry in an array of ids (NULLs and repeats ignored).
POSTGRESQL_STAMP = """
CREATE FUNCTION registry_index_stamp(registry_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO registry_indexstamp (registry_id, stamp)
    SELECT touched.id, floor((random() - 0.5) * 18014398509481984)::bigint
    FROM (SELECT DISTINCT unnest(registry_ids) AS id) AS touched
    WHERE touched.id IS NOT NULL
    ON CONFLICT (registry_id) DO UPDATE SET stamp = EXCLUDED.stamp
$$
"""

# One trigger function per way a table names its registry. Statement-level with transition
# tables: a bulk write of 1,000 tags renews the stamp once, not 1,000 times. (PL/pgSQL plans
# each statement when it first runs, so a branch naming a transition table that this trigger
# does not have is never planned.)
POSTGRESQL_FUNCTIONS = {
    # repositories carry registry_id
    "registry_index_touched_by_registry_id": (
        "SELECT registry_id FROM new_rows",
        "SELECT registry_id FROM old_rows",
    ),
    # manifests and tags carry repository_id
    "registry_index_touched_by_repository_id": (
        "SELECT r.registry_id FROM new_rows t JOIN registry_repository r ON r.id = t.repository_id",
        "SELECT r.registry_id FROM old_rows t JOIN registry_repository r ON r.id = t.repository_id",
    ),
}

POSTGRESQL_FUNCTION = """
CREATE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM registry_index_stamp(ARRAY({new}));
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM registry_index_stamp(ARRAY({old}));
    END IF;
    RETURN NULL;
END
$$
"""

# The registry row itself: created (a first stamp), renamed (rows show the name), deleted.
# Row-level, because a trigger limited to some columns (UPDATE OF name) cannot have
# transition tables; registries are written one at a time anyway.
POSTGRESQL_REGISTRY_FUNCTION = """
CREATE FUNCTION registry_index_touched_registry() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM registry_index_stamp(ARRAY[OLD.id]);
    ELSE
        PERFORM registry_index_stamp(ARRAY[NEW.id]);
    END IF;
    RETURN NULL;
END
$$
"""

POSTGRESQL_TABLES = {
    "registry_repository": "registry_index_touched_by_registry_id",
    "registry_manifest": "registry_index_touched_by_repository_id",
    "registry_tag": "registry_index_touched_by_repository_id",
}

POSTGRESQL_TRANSITIONS = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}


def postgresql_statements():
    yield POSTGRESQL_STAMP
    for name, (new, old) in POSTGRESQL_FUNCTIONS.items():
        yield POSTGRESQL_FUNCTION.format(name=name, new=new, old=old)
    yield POSTGRESQL_REGISTRY_FUNCTION
    for table, function in POSTGRESQL_TABLES.items():
        for operation, transition in POSTGRESQL_TRANSITIONS.items():
            yield (
                f"CREATE TRIGGER {table}_index_{operation.lower()} AFTER {operation} ON {table} "
                f"{transition} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
    yield (
        "CREATE TRIGGER registry_registry_index AFTER INSERT OR DELETE OR UPDATE OF name "
        "ON registry_registry FOR EACH ROW EXECUTE FUNCTION registry_index_touched_registry()"
    )
    yield (
        "INSERT INTO registry_indexstamp (registry_id, stamp) "
        "SELECT id, floor((random() - 0.5) * 18014398509481984)::bigint FROM registry_registry "
        "ON CONFLICT (registry_id) DO NOTHING"
    )


def postgresql_reverse():
    for table in POSTGRESQL_TABLES:
        for operation in POSTGRESQL_TRANSITIONS:
            yield f"DROP TRIGGER IF EXISTS {table}_index_{operation.lower()} ON {table}"
    yield "DROP TRIGGER IF EXISTS registry_registry_index ON registry_registry"
    yield "DROP FUNCTION IF EXISTS registry_index_touched_registry()"
    for name in POSTGRESQL_FUNCTIONS:
        yield f"DROP FUNCTION IF EXISTS {name}()"
    yield "DROP FUNCTION IF EXISTS registry_index_stamp(bigint[])"


# SQLite has row-level triggers only. (The WHERE clauses are required: without one, SQLite
# would read ON CONFLICT as the join condition of the SELECT.)
SQLITE_UPSERT = (
    "INSERT INTO registry_indexstamp (registry_id, stamp) {select} "
    "ON CONFLICT (registry_id) DO UPDATE SET stamp = excluded.stamp;"
)
SQLITE_SOURCES = {
    "registry_repository": {
        "INSERT": "SELECT NEW.registry_id, random() WHERE true",
        "UPDATE": "SELECT id, random() FROM registry_registry "
        "WHERE id IN (OLD.registry_id, NEW.registry_id)",
        "DELETE": "SELECT OLD.registry_id, random() WHERE true",
    },
    "registry_manifest": {
        "INSERT": "SELECT registry_id, random() FROM registry_repository "
        "WHERE id = NEW.repository_id",
        "UPDATE": "SELECT registry_id, random() FROM registry_repository "
        "WHERE id IN (OLD.repository_id, NEW.repository_id)",
        "DELETE": "SELECT registry_id, random() FROM registry_repository "
        "WHERE id = OLD.repository_id",
    },
    "registry_registry": {
        "INSERT": "SELECT NEW.id, random() WHERE true",
        "UPDATE OF name": "SELECT NEW.id, random() WHERE true",
        "DELETE": "SELECT OLD.id, random() WHERE true",
    },
}
SQLITE_SOURCES["registry_tag"] = SQLITE_SOURCES["registry_manifest"]


def _sqlite_trigger_name(table, operation):
    return f"{table}_index_{operation.split()[0].lower()}"


def sqlite_statements():
    for table, sources in SQLITE_SOURCES.items():
        for operation, select in sources.items():
            name = _sqlite_trigger_name(table, operation)
            upsert = SQLITE_UPSERT.format(select=select)
            yield f"CREATE TRIGGER {name} AFTER {operation} ON {table} BEGIN {upsert} END"
    yield (
        "INSERT INTO registry_indexstamp (registry_id, stamp) "
        "SELECT id, random() FROM registry_registry WHERE true ON CONFLICT DO NOTHING"
    )


def sqlite_reverse():
    for table, sources in SQLITE_SOURCES.items():
        for operation in sources:
            yield f"DROP TRIGGER IF EXISTS {_sqlite_trigger_name(table, operation)}"


FORWARD = {"postgresql": postgresql_statements, "sqlite": sqlite_statements}
REVERSE = {"postgresql": postgresql_reverse, "sqlite": sqlite_reverse}


def _run(statements):
    def run(apps, schema_editor):
        chosen = statements.get(schema_editor.connection.vendor)
        for sql in chosen() if chosen else ():
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0008_access_requests"),
    ]

    operations = [
        migrations.CreateModel(
            name="IndexStamp",
            fields=[
                ("registry_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("stamp", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(_run(FORWARD), _run(REVERSE)),
    ]
