"""Spending links to a council decision (`decision`, PROTECT); the old free-text column
`council_decision` becomes `decision_reference` (what an old ledger wrote, e.g. from the Excel
import), keeping its data.

Schema-only on purpose: the rename keeps every row's text (SQLite and PostgreSQL rename the
column in place; no table rebuild, so the append-only triggers of 0002 stay), and the new
nullable column is added without a rebuild either. Old rows are not linked to decisions
afterwards: the ledger is append-only (the triggers refuse UPDATE), and a free text such as
“居民议事会决定” names no decision reliably.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0003_contract_alert_sent"),
        ("council", "0002_council_proposals"),
    ]

    operations = [
        migrations.RenameField(model_name="ledgerentry", old_name="council_decision", new_name="decision_reference"),
        migrations.AlterField(
            model_name="ledgerentry",
            name="decision_reference",
            field=models.CharField(blank=True, max_length=100, verbose_name="议事决定（原台账记载）"),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="decision",
            field=models.ForeignKey(
                blank=True,
                help_text="本小区议事会议的决议，支出的依据。",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="asset_ledger_entries",
                to="council.decision",
                verbose_name="议事决议",
            ),
        ),
    ]
