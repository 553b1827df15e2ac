"""`python -m bench.generate --studies N --seed S`: synthetic studies into the database DATABASE_URL names."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
django.setup()

from bench.synthetic import main  # noqa: E402  (needs Django set up)

if __name__ == "__main__":
    main()
