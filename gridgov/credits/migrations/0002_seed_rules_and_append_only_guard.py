"""The default rule catalogue, and the triggers that keep the credit ledger append-only.

Triggers refuse any UPDATE that changes a booking column of `credits_creditentry`
and any DELETE, on SQLite and PostgreSQL alike. Deletion is possible only while a
row exists in `credits_ledgermaintenance` (the demo reset, inside one transaction).
"""

from django.db import migrations

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

# code, name, category, min, max, evidence, yearly cap, case category code
DEFAULT_RULES = [
    ("DOG-01", "遛狗未牵绳", "dogs", -5, -2, True, 20, "0603"),
    ("DOG-02", "犬只粪便未清理", "dogs", -3, -1, True, 15, None),
    ("DOG-03", "犬只按时免疫登记", "dogs", 2, 2, False, 2, None),
    ("GAR-01", "垃圾分类投放准确", "garbage", 1, 2, False, 24, None),
    ("GAR-02", "垃圾乱扔乱倒", "garbage", -5, -2, True, 20, "0101"),
    ("VOL-01", "参加志愿服务（每次）", "volunteer", 2, 5, True, 60, None),
    ("NEI-01", "邻里互助、调解纠纷", "neighbour", 2, 5, False, 30, None),
    ("NEI-02", "噪音扰民经调解仍不改正", "neighbour", -5, -2, True, 10, "0602"),
    ("COU-01", "参加居民议事会", "council", 2, 3, False, 24, None),
]


def seed(apps, schema_editor):
    CreditRule = apps.get_model("credits", "CreditRule")
    Category = apps.get_model("cases", "Category")
    categories = {category.code: category for category in Category.objects.all()}
    for code, name, category, low, high, evidence, cap, case_category in DEFAULT_RULES:
        CreditRule.objects.update_or_create(
            area=None,
            code=code,
            defaults={
                "name": name,
                "category": category,
                "points_min": low,
                "points_max": high,
                "evidence_required": evidence,
                "yearly_cap": cap,
                "case_category": categories.get(case_category) if case_category else None,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("credits", "CreditRule").objects.filter(area=None).delete()


def guard(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        changed = " OR ".join(f"NEW.{column} IS NOT OLD.{column}" for column in IMMUTABLE)
        schema_editor.execute(
            "CREATE TRIGGER credits_entry_no_edit BEFORE UPDATE ON credits_creditentry "
            f"WHEN {changed} BEGIN SELECT RAISE(ABORT, 'credits ledger is append-only'); END;"
        )
        schema_editor.execute(
            "CREATE TRIGGER credits_entry_no_delete BEFORE DELETE ON credits_creditentry "
            "WHEN NOT EXISTS (SELECT 1 FROM credits_ledgermaintenance) "
            "BEGIN SELECT RAISE(ABORT, 'credits ledger is append-only'); END;"
        )
    elif vendor == "postgresql":
        changed = " OR ".join(f"NEW.{column} IS DISTINCT FROM OLD.{column}" for column in IMMUTABLE)
        schema_editor.execute(
            f"""
            CREATE FUNCTION credits_entry_guard() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    IF EXISTS (SELECT 1 FROM credits_ledgermaintenance) THEN RETURN OLD; END IF;
                    RAISE EXCEPTION 'credits ledger is append-only';
                END IF;
                IF {changed} THEN
                    RAISE EXCEPTION 'credits ledger is append-only';
                END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql;
            """
        )
        schema_editor.execute(
            "CREATE TRIGGER credits_entry_guard BEFORE UPDATE OR DELETE ON credits_creditentry "
            "FOR EACH ROW EXECUTE FUNCTION credits_entry_guard();"
        )


def unguard(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS credits_entry_no_edit;")
        schema_editor.execute("DROP TRIGGER IF EXISTS credits_entry_no_delete;")
    elif vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS credits_entry_guard ON credits_creditentry;")
        schema_editor.execute("DROP FUNCTION IF EXISTS credits_entry_guard();")


class Migration(migrations.Migration):
    dependencies = [("credits", "0001_rules_ledger_redemption"), ("cases", "0003_seed_categories")]
    operations = [migrations.RunPython(seed, unseed), migrations.RunPython(guard, unguard)]
