"""Every environment variable the settings read is documented in `.env.example`."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_every_setting_is_documented_in_env_example() -> None:
    settings_source = (ROOT / "gridgov" / "settings.py").read_text(encoding="utf-8")
    used = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', settings_source))
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M))
    assert used, "no settings found: the pattern above is out of date"
    assert used - documented == set()
