"""NeuroCell Registry settings: one module, every deployment difference comes from the environment.

SQLite inside the project is the default so that a fresh checkout runs with nothing but Python;
production sets DATABASE_URL to PostgreSQL, DEBUG=0, SECRET_KEY and ALLOWED_HOSTS.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as default_cors_headers
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

_DEV_SECRET_KEY = "dev-only-insecure-key-never-used-in-production"
# Never a guessable key in production: without SECRET_KEY it stays empty, which Django refuses to sign
# with, and registry.serving refuses to serve. Tooling (makemigrations, migrate, check) needs neither.
SECRET_KEY = os.environ.get("SECRET_KEY", "") or (_DEV_SECRET_KEY if DEBUG else "")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "corsheaders",
    "django_countries",
    "nested_admin",
    "csp",
    "axes",
    "trials",
]

MIDDLEWARE = [
    # First: a cached response already carries every header the rest of the stack adds.
    "trials.pagecache.PublicPageCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After LocaleMiddleware (their pages are in the reader's language), before anything reads the body.
    "trials.middleware.RequestBodyLimitMiddleware",
    # Control characters and NUL bytes anywhere in the request: 400 before any of them reaches a query.
    "trials.middleware.MalformedRequestMiddleware",
    "trials.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "registry.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "registry.wsgi.application"
ASGI_APPLICATION = "registry.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# A database that stops answering must cost a request seconds, not a worker (trials/database.py): connecting
# waits DB_CONNECT_TIMEOUT at most, a web request's statement DB_STATEMENT_TIMEOUT (server-side, and cut on
# the client a connect timeout later if the server does not even answer that), the health check of a
# reused connection DB_HEALTH_CHECK_TIMEOUT. Together they keep a hung database's 503 within ~5 s.
DATABASE_CONNECT_TIMEOUT = float(os.environ.get("DB_CONNECT_TIMEOUT") or 3)
DATABASE_STATEMENT_TIMEOUT = float(os.environ.get("DB_STATEMENT_TIMEOUT") or 10)
DATABASE_HEALTH_CHECK_TIMEOUT = float(os.environ.get("DB_HEALTH_CHECK_TIMEOUT") or 1)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "registry.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent readers while the dev server writes; SQLite's default journal blocks them.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Integrators want numbers, not strings, for p-values, timepoints and follow-up.
    "COERCE_DECIMAL_TO_STRING": False,
    "EXCEPTION_HANDLER": "trials.api.errors.exception_handler",
    # JSON nested deeper than any study document is refused before it is parsed (trials/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "trials.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["trials.api.throttling.AnonymousRateThrottle"],
}
# A second pair of eyes: a reviewer may not publish a study they submitted themselves, unless the
# deployment allows it (`make run`'s single local account does; production should not).
REGISTRY_ALLOW_SELF_PUBLISH = env_bool("REGISTRY_ALLOW_SELF_PUBLISH", False)
# Requests per address for anonymous API clients ("off" disables); tests and benchmarks raise it.
API_ANON_RATE = os.environ.get("API_ANON_RATE") or "120/min"
# Facet counts and search totals are cached until the data changes (trials/cache.py); this bounds how long an
# entry is kept (never stale: keyed by the data stamp). 0 turns the cache off (the test suite does, to keep its
# query counts pinned).
REGISTRY_CACHE_SECONDS = int(os.environ.get("REGISTRY_CACHE_SECONDS") or 86400)
# Whole anonymous responses too (trials.pagecache.PublicPageCacheMiddleware); off while developing, so
# that an edited template shows at once.
REGISTRY_PAGE_CACHE = env_bool("REGISTRY_PAGE_CACHE", not DEBUG)
# Per process; each gunicorn worker warms its own. Entries are keyed by the data stamp, so none is stale.
# Rate-limit counters ("ratelimit", trials/api/throttling.py) must be shared by every worker: in Redis when
# REDIS_URL is set (production runs several workers), else in this process (development, tests).
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("REGISTRY_CACHE_ENTRIES") or 1000)},
    },
    "ratelimit": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("REDIS_KEY_PREFIX") or "ncr",
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ratelimit"}
    ),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "NeuroCell Registry API",
    "DESCRIPTION": "Structured registry of stem-cell and cell-therapy trials for neurological disease.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "trials.api.schema.postprocess_schema"],
    "ENUM_NAME_OVERRIDES": {
        "MilestoneKindEnum": "trials.choices.MilestoneKind",
        "InterventionKindEnum": "trials.choices.InterventionKind",
        # Choice sets shared by several fields (the age bounds; the study's and its sites' statuses), and
        # baselines' own statistic and dispersion sets beside the outcomes'.
        "AgeUnitEnum": "trials.choices.AgeUnit",
        "OverallStatusEnum": "trials.choices.OverallStatus",
        "BaselineStatisticEnum": "trials.choices.BaselineStatistic",
        "BaselineDispersionEnum": "trials.choices.BaselineDispersion",
        "StatisticEnum": "trials.choices.Statistic",
        "DispersionTypeEnum": "trials.choices.Dispersion",
        # patient_pays, peer_reviewed and prospective_registration share one yes / no / unknown set.
        "TriStateEnum": "trials.choices.TriState",
    },
}

CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_ALLOW_HEADERS = [*default_cors_headers, "if-none-match"]
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After", "Content-Disposition"]

# Production serves over TLS; SECURE_COOKIES=0 is for a local production-mode run over plain HTTP.
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# SECURE_SSL_REDIRECT=0 likewise (docker-compose.yml). Load balancers probe /healthz and /livez over plain HTTP.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$"]
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    # Only behind a proxy that terminates TLS and always sets (never passes on) X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Sent only over HTTPS. "preload" is consent only: nothing happens until the domain is submitted.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS") or (0 if DEBUG else 31_536_000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# Pages load scripts and styles from our own origin only: no inline code, no CDN. A nonce is added to
# the header only on a response whose template asked for one (`request.csp_nonce`): the Swagger UI page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        # Style attributes: only django-simple-history's `style="border-top: 0"` (the admin's history page).
        "style-src-attr": ["'unsafe-hashes'", "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Request bodies: a whole study document is tens of kB. Django checks this limit when it reads a form;
# trials.middleware.RequestBodyLimitMiddleware applies it before anything reads, as DRF's JSON parser
# does not. The nested study form in the admin posts tens of fields per outcome and adverse event.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE") or 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# Errors outside DRF views: the site's own pages, JSON under /api/ (handlers in registry/urls.py).
CSRF_FAILURE_VIEW = "trials.views.errors.csrf_failure"

# Password guessing at /admin/login/: 5 failures for one username from one address lock that pair
# out for 15 minutes (other users, and the same user elsewhere, can still sign in). Tests sign in
# with `client.force_login`, which does not authenticate; `client.login` needs `request=`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "trials.views.errors.login_locked_out"
# Behind N reverse proxies REMOTE_ADDR is the nearest proxy: TRUSTED_PROXY_COUNT=N reads the client's
# address from X-Forwarded-For instead (only the entries those proxies appended).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT") or 0)
AXES_CLIENT_IP_CALLABLE = "trials.addresses.client_ip"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
