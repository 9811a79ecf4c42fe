"""Loaded with `-p` before pytest-django configures Django: test-only values
for settings that production must set explicitly."""

import os

os.environ.setdefault("GRIDGOV_SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("GRIDGOV_SECURE_COOKIES", "0")
os.environ.setdefault("GRIDGOV_DEBUG", "0")
os.environ.setdefault("GRIDGOV_STATIC_MANIFEST", "0")
# Test-only keys (16 bytes each, base64); production keys come from the environment.
os.environ.setdefault("GRIDGOV_FIELD_KEYS", "t1:dGVzdC1rZXktb25lLTE2Yg==,t2:dGVzdC1rZXktdHdvLTE2Yg==")
os.environ.setdefault("GRIDGOV_FIELD_KEY_CURRENT", "t1")
os.environ.setdefault("GRIDGOV_BLIND_INDEX_KEY", "dGVzdC1ibGluZC1pbmRleC1rZXk=")
