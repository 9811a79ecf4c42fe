"""GridGov settings, read from the environment (see `.env.example`)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from gridgov.env import _load_dotenv, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
_load_dotenv(BASE_DIR / ".env")

DEBUG = env_bool("GRIDGOV_DEBUG", False)
SECRET_KEY = env_str("GRIDGOV_SECRET_KEY", "insecure-dev-key-change-me" if DEBUG else None)
ALLOWED_HOSTS = env_list("GRIDGOV_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("GRIDGOV_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    # Serves the API docs page's Swagger files locally (no CDN on intranets).
    "ninja",
    "template_partials",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "gridgov.core",
    "gridgov.areas",
    "gridgov.accounts",
    "gridgov.registry",
    "gridgov.cases",
    "gridgov.notices",
    "gridgov.patrols",
    "gridgov.portal",
    "gridgov.dashboard",
    "gridgov.tasks",
    "gridgov.party",
    "gridgov.council",
    "gridgov.credits",
    "gridgov.assets",
    "gridgov.api",
    "gridgov.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, so that it sees the final authentication result of every request.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gridgov.urls"
WSGI_APPLICATION = "gridgov.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "gridgov" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gridgov.accounts.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# SQLite is the embedded default; PostgreSQL is used when DATABASE_URL says so.
SQLITE_PATH = Path(env_str("GRIDGOV_SQLITE_PATH", str(BASE_DIR / "var" / "gridgov.sqlite3")))
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{SQLITE_PATH}")
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("GRIDGOV_DB_CONN_MAX_AGE", 60))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] and _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers run beside the one writer; FULL makes an acknowledged
    # commit survive a power cut; IMMEDIATE takes the write lock at BEGIN so
    # two writers queue on busy_timeout instead of failing half-way.
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("GRIDGOV_SQLITE_BUSY_TIMEOUT", 20),
        "init_command": (
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA foreign_keys=ON;PRAGMA cache_size=-64000;"
        ),
    }
    _db.setdefault("TEST", {})
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users, passwords, sessions ------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "areas:home"
LOGOUT_REDIRECT_URL = "accounts:login"

SESSION_COOKIE_AGE = env_int("GRIDGOV_SESSION_AGE_SECONDS", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_COOKIES = env_bool("GRIDGOV_SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("GRIDGOV_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("GRIDGOV_HSTS_SECONDS", 0)
if env_bool("GRIDGOV_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Login throttling (django-axes): lock an account after N failures from
# anywhere, and an IP address after N failures on any account.
AXES_ENABLED = env_bool("GRIDGOV_LOGIN_THROTTLE", True)
AXES_FAILURE_LIMIT = env_int("GRIDGOV_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("GRIDGOV_LOGIN_COOLOFF_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "gridgov.accounts.throttle.OwnAttemptsResetHandler"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env_int("GRIDGOV_PROXY_COUNT", 0)
AXES_VERBOSE = False

CSRF_FAILURE_VIEW = "gridgov.core.views.csrf_failure"

# Content security policy: everything is served from our own origin
# (government intranets have no CDN); map tiles may come from an intranet server.
MAP_TILE_URL = env_str("GRIDGOV_MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = env_str("GRIDGOV_MAP_TILE_ATTRIBUTION", "")
_tile_origin = []
if MAP_TILE_URL:
    from urllib.parse import urlsplit

    _parts = urlsplit(MAP_TILE_URL.replace("{s}", "a"))
    if _parts.scheme and _parts.netloc:
        _tile_origin = [f"{_parts.scheme}://{_parts.netloc}"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *_tile_origin],  # blob: previews of photos picked on the phone
        "style-src": ["'self'", "'unsafe-inline'"],
        # Alpine.js evaluates its attribute expressions with Function().
        "script-src": ["'self'", "'unsafe-eval'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- i18n -----------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "gridgov" / "locale"]
TIME_ZONE = env_str("GRIDGOV_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "gridgov" / "static"]
STATIC_ROOT = Path(env_str("GRIDGOV_STATIC_ROOT", str(BASE_DIR / "var" / "static")))
# Hashed, compressed file names need `collectstatic`; development and tests
# serve the source folders directly instead.
STATIC_MANIFEST = env_bool("GRIDGOV_STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST

# --- Background work ------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
WORKER_POLL_SECONDS = env_int("GRIDGOV_WORKER_POLL_SECONDS", 5)

# --- API ------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 50
API_TOKEN_DAYS = env_int("GRIDGOV_API_TOKEN_DAYS", 365)

# --- Personal data protection (GB/T 39786: SM4 at rest, SM3 for indexes) ---
# SM4 keys as "id:base64-of-16-bytes" pairs, comma separated; new data is
# encrypted with GRIDGOV_FIELD_KEY_CURRENT, older ids stay for decryption until
# `manage.py rotate_field_keys` has re-encrypted every row.
FIELD_KEYS = env_str("GRIDGOV_FIELD_KEYS", "")
FIELD_KEY_CURRENT = env_str("GRIDGOV_FIELD_KEY_CURRENT", "")
# HMAC-SM3 key (base64, ≥ 16 bytes) of the blind index used for exact lookup.
# Changing it means rebuilding every index (`rotate_field_keys --reindex`).
BLIND_INDEX_KEY = env_str("GRIDGOV_BLIND_INDEX_KEY", "")

# Rows per registry Excel import; larger files are refused whole (split them).
REGISTRY_IMPORT_MAX_ROWS = env_int("GRIDGOV_REGISTRY_IMPORT_MAX_ROWS", 100_000)

# --- Working calendar (case time limits) -----------------------------------
# Office hours on working days, comma-separated intervals in GRIDGOV_TIME_ZONE.
OFFICE_HOURS = env_str("GRIDGOV_OFFICE_HOURS", "09:00-12:00,13:30-17:30")

# --- Cases and notifications ----------------------------------------------
# Uploaded photos and documents; served only through scope-checked views.
MEDIA_ROOT = Path(env_str("GRIDGOV_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"
CASE_ATTACHMENT_MAX_BYTES = env_int("GRIDGOV_CASE_ATTACHMENT_MAX_MB", 10) * 1024 * 1024
# Days after closing during which the reporter may rate or say "没有解决".
CASE_REOPEN_DAYS = env_int("GRIDGOV_CASE_REOPEN_DAYS", 15)
# Channels besides the in-app inbox: channel=dotted.path.Backend, comma separated.
NOTICE_BACKENDS = env_str("GRIDGOV_NOTICE_BACKENDS", "sms=gridgov.notices.backends.LogBackend")

# --- Geometry -------------------------------------------------------------
# Tolerances for area imports, in square metres of overlap/gap and metres of overhang.
AREA_IMPORT_OVERLAP_TOLERANCE_M2 = env_int("GRIDGOV_AREA_OVERLAP_TOLERANCE_M2", 1)
AREA_IMPORT_OUTSIDE_TOLERANCE_M = env_int("GRIDGOV_AREA_OUTSIDE_TOLERANCE_M", 1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("GRIDGOV_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
