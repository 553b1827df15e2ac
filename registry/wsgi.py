"""
WSGI config for registry project.

It exposes the WSGI callable as a module-level variable named ``application``: Django, behind the
public page cache's front (trials.pagecache.CachedPageApplication), which answers cache hits itself.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

application = get_wsgi_application()

# Imported once Django is set up above.
from registry.serving import mark_web_process, require_production_settings  # noqa: E402
from trials.pagecache import CachedPageApplication  # noqa: E402

require_production_settings()
mark_web_process()
application = CachedPageApplication(application)
