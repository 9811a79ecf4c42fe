"""Loaded with `-p` before pytest-django configures Django: test-only values
for settings that production must set explicitly."""

import os

os.environ.setdefault("GRIDGOV_SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("GRIDGOV_SECURE_COOKIES", "0")
os.environ.setdefault("GRIDGOV_DEBUG", "0")
os.environ.setdefault("GRIDGOV_STATIC_MANIFEST", "0")
