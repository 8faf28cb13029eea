"""Settings for MLOps Site, every value read from the environment.

With no environment at all the embedded defaults apply: SQLite and artifacts
under ``var/``, and the Redis that ``manage.py run_stack`` starts privately
(its address is left in ``var/redis/url``). Production sets ``DATABASE_URL``,
``REDIS_URL``, ``SECRET_KEY``, ``ALLOWED_HOSTS`` and friends.
"""

import ipaddress
import json
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_list(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# Every process of the site loads these settings first (web, worker, beat, manage.py, and the Redis that run_stack
# starts inherits it): what they create under var/ — the SQLite database and its journal, the secret key, logs,
# audit anchors, the private Redis's files — is then readable by its owner only (files 0600, folders 0700).
os.umask(0o077)
VAR_DIR = Path(env("MLOPS_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)


def _secret_key():
    """SECRET_KEY from the environment; else one generated once and kept in var/."""
    if env("SECRET_KEY"):
        return env("SECRET_KEY")
    path = VAR_DIR / "secret_key"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _redis_url():
    """REDIS_URL from the environment; else the private Redis that run_stack started."""
    if env("REDIS_URL"):
        return env("REDIS_URL")
    private = VAR_DIR / "redis" / "url"
    if private.exists():
        return private.read_text().strip()
    return "redis://127.0.0.1:6379/0"


SECRET_KEY = _secret_key()
# Earlier SECRET_KEYs, comma-separated, while rotating it: sessions signed and webhook secrets sealed with them
# still open (webhook secrets are sealed with a key derived from SECRET_KEY).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The web server's port under `make run` (run_stack), where simulate_traffic sends by default.
PORT = env_int("PORT", 8000)
SITE_URL = env("SITE_URL", f"http://127.0.0.1:{PORT}")
# `make run` (run_stack): gunicorn worker processes and Celery worker processes.
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", 2)
WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 2)
# The demo users' password (seed_demo); empty: a random one, kept in var/demo-password.
DEMO_PASSWORD = env("DEMO_PASSWORD", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "axes",
    "pipelines_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "mlops_site.middleware.ContentSecurityPolicyMiddleware",
    "mlops_site.middleware.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout response.
    "axes.middleware.AxesMiddleware",
]

# Scoring (/serve/, /v2/) is answered with only these (mlops_site/wsgi.py): their callers are programs with tokens,
# for which sessions, CSRF, messages and lockouts do nothing but cost a fifth of a one-row prediction.
SERVING_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "mlops_site.middleware.RequestBodyLimitMiddleware",
]

ROOT_URLCONF = "mlops_site.urls"
WSGI_APPLICATION = "mlops_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pipelines_app.context_processors.shell",
            ],
        },
    },
]

# Database: PostgreSQL from DATABASE_URL in production, SQLite in var/ otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: take the write lock at BEGIN and
    # wait for it rather than failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
    # A Celery worker in another process must see the test database: a file, never memory.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

# Login rate limit (django-axes): a username is locked for a while after
# repeated failures from one address, for that address only (others still log in as that user).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# Proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated). Empty: the connection's
# address is the client's, so a client cannot choose the address it is locked out (or audited) under.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_proxy!r} is not an address or network") from None
AXES_CLIENT_IP_CALLABLE = "mlops_site.client_address.client_address"
# Scrapers that may read /metrics without a token (addresses or networks, comma-separated; "none" for no one):
# the client's address as mlops_site.client_address reads it, and only from a request no untrusted proxy forwarded.
# Anyone else sends a viewer's API token (docs/prometheus.md).
METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES", ["127.0.0.1", "::1"])
if METRICS_ALLOWED_ADDRESSES == ["none"]:
    METRICS_ALLOWED_ADDRESSES = []
for _scraper in METRICS_ALLOWED_ADDRESSES:
    try:
        ipaddress.ip_network(_scraper, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_ADDRESSES: {_scraper!r} is not an address or network") from None

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Front-end packages are vendored under static/vendor/ (plotly.js as its cartesian bundle), never a CDN.
STATICFILES_DIRS = [BASE_DIR / "static"]

ARTIFACT_ROOT = Path(env("ARTIFACT_ROOT", str(VAR_DIR / "artifacts")))
MEDIA_ROOT = ARTIFACT_ROOT
# Local storage sets these modes itself after each save (Django's default is a world-readable 0644, whatever the
# umask): datasets and models are for the site's own user.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700


def artifact_storage(environ) -> dict:
    """Where datasets, model files and reports live (DESIGN §3), from ``ARTIFACT_STORAGE``: unset, the file system
    under ARTIFACT_ROOT; ``s3``, S3's API through django-storages (``AWS_STORAGE_BUCKET_NAME``, and for a server
    other than AWS ``AWS_S3_ENDPOINT_URL``; credentials from the usual AWS variables, read by boto3); or the dotted
    path of another Django storage class. A file never replaces another of the same name (a version's file is
    found by its name and checked by its SHA-256)."""
    kind = environ.get("ARTIFACT_STORAGE", "")
    if kind in ("", "filesystem"):
        return {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(ARTIFACT_ROOT)}}
    if kind == "s3":
        bucket = environ.get("AWS_STORAGE_BUCKET_NAME", "")
        if not bucket:
            raise ImproperlyConfigured("ARTIFACT_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME, the bucket to keep them in")
        options = {
            "bucket_name": bucket,
            "file_overwrite": False,
            "default_acl": None,  # the bucket's own policy: private unless its owner said otherwise
            "location": environ.get("AWS_LOCATION", ""),  # a prefix inside the bucket
        }
        if environ.get("AWS_S3_ENDPOINT_URL"):
            options["endpoint_url"] = environ["AWS_S3_ENDPOINT_URL"]
        if environ.get("AWS_S3_REGION_NAME"):
            options["region_name"] = environ["AWS_S3_REGION_NAME"]
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
    if "." not in kind:
        raise ImproperlyConfigured(
            f"ARTIFACT_STORAGE is s3 or a storage class such as storages.backends.s3.S3Storage, not {kind!r}"
        )
    return {"BACKEND": kind, "OPTIONS": {}}


STORAGES = {
    "default": artifact_storage(os.environ),
    # Names carry a hash of the content (collectstatic writes the manifest; `make run` runs it), so whitenoise
    # serves them gzipped with a cache lifetime of ten years: a chart page downloads plotly.js once.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REDIS_URL = _redis_url()
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", "mlops"),
    }
}

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "mlops-site@localhost")
# Where webhooks may go (pipelines_app/outbound.py): empty = any public internet host; a listed host (exact, or
# ".example.com" for a domain) is trusted even on loopback or a private network.
NOTIFY_ALLOWED_HOSTS = env_list("NOTIFY_ALLOWED_HOSTS", [])
NOTIFY_TIMEOUT_S = env_int("NOTIFY_TIMEOUT_S", 10)
# A notification that could not be sent (mail server down, webhook answering 5xx or not at all) is tried again,
# the first time after NOTIFY_RETRY_BACKOFF_S, doubling each time, NOTIFY_MAX_ATTEMPTS attempts in all.
NOTIFY_RETRY_BACKOFF_S = float(env("NOTIFY_RETRY_BACKOFF_S", "30"))
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 5)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind TLS (production): redirect plain HTTP and tell browsers to keep to HTTPS. Off by default, since `make
# run` serves plain HTTP on localhost.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env("SECURE_PROXY_SSL_HEADER"):  # e.g. "HTTP_X_FORWARDED_PROTO,https" behind a TLS-terminating proxy
    SECURE_PROXY_SSL_HEADER = tuple(env("SECURE_PROXY_SSL_HEADER").split(",", 1))

# Celery: the broker carries ids only; the database is the source of truth.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 3300)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "pipelines_app.tasks.record_worker_heartbeat",
        "schedule": 30.0,
    },
    "expire-approvals": {
        "task": "pipelines_app.tasks.expire_approvals",
        "schedule": 30.0,
    },
    "reap-steps": {
        "task": "pipelines_app.tasks.reap_steps",
        "schedule": 15.0,
    },
    # The outbox: events whose message was lost or whose reaction failed, and deliveries likewise.
    "sweep-events": {
        "task": "pipelines_app.tasks.sweep_events",
        "schedule": 10.0,
        "options": {"expires": 10},
    },
    "requeue-lost-deliveries": {
        "task": "pipelines_app.tasks.requeue_lost_deliveries",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    "drain-prediction-logs": {
        "task": "pipelines_app.tasks.drain_prediction_logs",
        "schedule": float(env("PREDICTION_LOG_DRAIN_S", "2")),
        "options": {"queue": "monitoring", "expires": 10},
    },
    "fold-rollups": {
        "task": "pipelines_app.tasks.fold_rollups",
        "schedule": float(env("ROLLUP_EVERY_S", "5")),
        "options": {"queue": "monitoring", "expires": 30},
    },
    "evaluate-alerts": {
        "task": "pipelines_app.tasks.evaluate_alerts",
        "schedule": float(env("ALERTS_EVERY_S", "30")),
        "options": {"queue": "monitoring", "expires": 60},
    },
    # Tomorrow's prediction log partition made ahead, expired days dropped (monitoring.retention).
    "keep-prediction-logs-bounded": {
        "task": "pipelines_app.tasks.keep_prediction_logs_bounded",
        "schedule": crontab(minute=7),
        "options": {"queue": "monitoring", "expires": 3600},
    },
    "judge-canaries": {
        "task": "pipelines_app.tasks.judge_canaries",
        "schedule": 60.0,
        "options": {"queue": "monitoring", "expires": 60},
    },
    "prune-worker-heartbeats": {
        "task": "pipelines_app.tasks.prune_worker_heartbeats",
        "schedule": crontab(minute=17),
    },
    "anchor-audit-chain": {
        "task": "pipelines_app.tasks.anchor_audit_chain",
        "schedule": crontab(hour=3, minute=41),
    },
    "record-webhook-rejections": {
        "task": "pipelines_app.tasks.record_webhook_rejections",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pipelines_app.api.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["pipelines_app.permissions.RolePermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # JSON nested thousands deep or numbers of thousands of digits are a 400, not a RecursionError or OverflowError.
    "DEFAULT_PARSER_CLASSES": [
        "pipelines_app.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MLOps Site API",
    "DESCRIPTION": "Define, run, approve, serve and monitor ML pipelines.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the sidecar package: the docs work without the internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "pipelines_app.api.schema.document_errors",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# Where the daily audit anchor (count and head hash of the chain) is appended. Under var/ it only guards against
# someone who can delete rows but not touch this file: point it at storage the database's users cannot write.
AUDIT_ANCHOR_PATH = Path(env("AUDIT_ANCHOR_PATH", str(VAR_DIR / "audit-anchors.log")))

# Uploads: the largest CSV accepted, in bytes (200 MB by default).
DATASET_MAX_BYTES = env_int("DATASET_MAX_BYTES", 200 * 1024 * 1024)
# The most columns an uploaded CSV may have, checked on its header line before the file is parsed or profiled:
# 20,000 columns took a minute to profile and made a 15 MB page.
DATASET_MAX_COLUMNS = env_int("DATASET_MAX_COLUMNS", 500)
# The largest request body anywhere else (bytes): refused with 413 from its Content-Length before anything reads
# it (mlops_site.middleware.RequestBodyLimitMiddleware). Dataset uploads have DATASET_MAX_BYTES, scoring
# SERVING_MAX_BYTES.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Webhook triggers: how long a rotated-out secret keeps working, and how many refused deliveries (bad, stale or
# replayed signatures, unknown pipelines) one address, or one pipeline, may send per minute before 429.
WEBHOOK_SECRET_GRACE_HOURS = env_int("WEBHOOK_SECRET_GRACE_HOURS", 24)
WEBHOOK_BAD_SIGNATURES_PER_MINUTE = env_int("WEBHOOK_BAD_SIGNATURES_PER_MINUTE", 30)
# Refuse webhook signatures without X-Signature-Timestamp (which can be replayed); off so that senders written
# before timestamps keep working.
WEBHOOK_REQUIRE_TIMESTAMP = env_bool("WEBHOOK_REQUIRE_TIMESTAMP", False)

# Step types beyond the built-in ones, as JSON: {"name": "dotted.path.to.StepClass"}.
try:
    PIPELINE_STEP_TYPES = json.loads(env("PIPELINE_STEP_TYPES", "{}"))
except ValueError:
    raise ImproperlyConfigured("PIPELINE_STEP_TYPES must be a JSON object of name: dotted path") from None

# Serving: the largest scoring request body (bytes; larger gets 413) and the most rows scored per request.
SERVING_MAX_BYTES = env_int("SERVING_MAX_BYTES", 5 * 1024 * 1024)
SERVING_MAX_ROWS = env_int("SERVING_MAX_ROWS", 10_000)
# Prediction logging can be switched off only to measure what it costs (make bench); monitoring needs it on.
SERVING_LOG_PREDICTIONS = env("SERVING_LOG_PREDICTIONS", "1") != "0"
# Logs leave the request path through a flusher thread; tests that read them at once flush in the request.
PREDICTION_LOG_BACKGROUND = env("PREDICTION_LOG_BACKGROUND", "1") != "0"
# How often each web process pushes its queued prediction logs to Redis. Each flush costs a thread switch and a
# Redis round trip: at 100-row requests from 16 clients logging cost 16.0% of throughput every 20 ms, 11.8% every
# 100 ms (benchmarks/serving.py, alternated runs).
PREDICTION_LOG_FLUSH_S = float(env("PREDICTION_LOG_FLUSH_S", "0.1"))
# How long prediction logs are kept (whole days; on PostgreSQL a day's partition is dropped, elsewhere its rows
# deleted), and the rollups the dashboards, alerts and drift are computed from (DESIGN §3).
PREDICTION_LOG_RETENTION_DAYS = env_int("PREDICTION_LOG_RETENTION_DAYS", 30)
ROLLUP_RETENTION_DAYS = env_int("ROLLUP_RETENTION_DAYS", 400)
if PREDICTION_LOG_RETENTION_DAYS < 1 or ROLLUP_RETENTION_DAYS < PREDICTION_LOG_RETENTION_DAYS:
    raise ImproperlyConfigured(
        "PREDICTION_LOG_RETENTION_DAYS must be at least 1, and ROLLUP_RETENTION_DAYS at least as long"
    )

# The engine: a running step's heartbeat period, and how old a heartbeat may get before the reaper
# decides the worker died and re-queues the step.
STEP_HEARTBEAT_S = float(env("STEP_HEARTBEAT_S", "5"))
STEP_STALE_AFTER_S = float(env("STEP_STALE_AFTER_S", "30"))
# How long one attempt of a step may run (seconds): a step's `step_timeout` in the pipeline file, else
# STEP_TIMEOUT_DEFAULT, never more than STEP_TIMEOUT_MAX (a file asking for more is refused when validated).
STEP_TIMEOUT_DEFAULT = env_int("STEP_TIMEOUT_DEFAULT", 3600)
STEP_TIMEOUT_MAX = env_int("STEP_TIMEOUT_MAX", 2 * 3600)
# A queued step not picked up for this long has its message sent again (a broker restart may lose it).
STEP_REQUEUE_AFTER_S = float(env("STEP_REQUEUE_AFTER_S", "120"))
