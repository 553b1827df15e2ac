"""Loaded by pytest before Django (`-p tests.settings_env`): development settings for the suite."""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "test-suite-only")
