"""Database triggers that keep the compound ledger append-only: no UPDATE at all, and
DELETE only while the maintenance row of `credits_ledgermaintenance` exists (demo reset)."""

from django.db import migrations


def guard(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(
            "CREATE TRIGGER assets_ledger_no_edit BEFORE UPDATE ON assets_ledgerentry "
            "BEGIN SELECT RAISE(ABORT, 'asset ledger is append-only'); END;"
        )
        schema_editor.execute(
            "CREATE TRIGGER assets_ledger_no_delete BEFORE DELETE ON assets_ledgerentry "
            "WHEN NOT EXISTS (SELECT 1 FROM credits_ledgermaintenance) "
            "BEGIN SELECT RAISE(ABORT, 'asset ledger is append-only'); END;"
        )
    elif vendor == "postgresql":
        schema_editor.execute(
            """
            CREATE FUNCTION assets_ledger_guard() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM credits_ledgermaintenance) THEN RETURN OLD; END IF;
                RAISE EXCEPTION 'asset ledger is append-only';
            END;
            $$ LANGUAGE plpgsql;
            """
        )
        schema_editor.execute(
            "CREATE TRIGGER assets_ledger_guard BEFORE UPDATE OR DELETE ON assets_ledgerentry "
            "FOR EACH ROW EXECUTE FUNCTION assets_ledger_guard();"
        )


def unguard(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS assets_ledger_no_edit;")
        schema_editor.execute("DROP TRIGGER IF EXISTS assets_ledger_no_delete;")
    elif vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS assets_ledger_guard ON assets_ledgerentry;")
        schema_editor.execute("DROP FUNCTION IF EXISTS assets_ledger_guard();")


class Migration(migrations.Migration):
    dependencies = [("assets", "0001_register_contracts_ledger"), ("credits", "0001_rules_ledger_redemption")]
    operations = [migrations.RunPython(guard, unguard)]
