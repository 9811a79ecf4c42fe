"""Set-up shared by the benchmark scripts (imported as `benchlib`: the scripts run as files)."""

from __future__ import annotations

import base64
import os
import platform
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def configure_django(database_dir: Path) -> None:
    """Point Django at a throw-away SQLite file in `database_dir`, never the developer's database."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "gridgov.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{database_dir / 'bench.sqlite3'}"
    os.environ.setdefault("GRIDGOV_SECRET_KEY", "bench")
    os.environ["GRIDGOV_ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["GRIDGOV_SECURE_COOKIES"] = "0"
    os.environ["GRIDGOV_STATIC_MANIFEST"] = "0"
    os.environ["GRIDGOV_LOG_LEVEL"] = "WARNING"
    # Throw-away keys for a throw-away database (child processes inherit them).
    if not os.environ.get("GRIDGOV_FIELD_KEYS"):
        os.environ["GRIDGOV_FIELD_KEYS"] = "b1:" + base64.b64encode(os.urandom(16)).decode()
        os.environ["GRIDGOV_FIELD_KEY_CURRENT"] = "b1"
        os.environ["GRIDGOV_BLIND_INDEX_KEY"] = base64.b64encode(os.urandom(32)).decode()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on (call after `configure_django`)."""
    from django.db import connection

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "database": connection.vendor,
    }
