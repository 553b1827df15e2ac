"""Loaded by pytest before Django (`-p tests.settings_env`): development settings for the suite."""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "test-suite-only")
# Facet and total caching off: query counts are pinned without it; tests/test_cache.py turns it on.
os.environ.setdefault("REGISTRY_CACHE_SECONDS", "0")
