"""A staff reversal is pending until a second person approves it, and a rejected reversal
leaves room for another: `reverses` becomes a foreign key with at most one live (not rejected)
reversal per entry.

On SQLite, changing the column's uniqueness rebuilds the table, which drops its triggers:
the append-only triggers of 0002 are created again right after (PostgreSQL keeps its trigger).
"""

import django.db.models.deletion
from django.db import migrations, models

IMMUTABLE = [
    "household_id",
    "resident_id",
    "rule_id",
    "kind",
    "points",
    "year",
    "occurred_on",
    "note",
    "evidence",
    "recorded_by_id",
    "recorded_at",
    "reverses_id",
    "source_case_id",
    "redemption_item_id",
]


def sqlite_guard_again(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    changed = " OR ".join(f"NEW.{column} IS NOT OLD.{column}" for column in IMMUTABLE)
    schema_editor.execute("DROP TRIGGER IF EXISTS credits_entry_no_edit;")
    schema_editor.execute("DROP TRIGGER IF EXISTS credits_entry_no_delete;")
    schema_editor.execute(
        "CREATE TRIGGER credits_entry_no_edit BEFORE UPDATE ON credits_creditentry "
        f"WHEN {changed} BEGIN SELECT RAISE(ABORT, 'credits ledger is append-only'); END;"
    )
    schema_editor.execute(
        "CREATE TRIGGER credits_entry_no_delete BEFORE DELETE ON credits_creditentry "
        "WHEN NOT EXISTS (SELECT 1 FROM credits_ledgermaintenance) "
        "BEGIN SELECT RAISE(ABORT, 'credits ledger is append-only'); END;"
    )


class Migration(migrations.Migration):
    dependencies = [("credits", "0002_seed_rules_and_append_only_guard")]

    operations = [
        migrations.AlterField(
            model_name="creditentry",
            name="reverses",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reversals",
                to="credits.creditentry",
                verbose_name="冲正对象",
            ),
        ),
        migrations.AddConstraint(
            model_name="creditentry",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reverses__isnull", False), models.Q(("status", "rejected"), _negated=True)),
                fields=("reverses",),
                name="credit_entry_one_live_reversal",
            ),
        ),
        migrations.RunPython(sqlite_guard_again, sqlite_guard_again),
    ]
