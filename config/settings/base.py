"""Settings read from the environment (django-environ), with an embedded default.

With no environment at all the project runs on SQLite, executes Celery tasks in-process and keeps
media on local disk, with DEBUG off and a random per-process secret key; ``make run`` asks for
debug and a development key (see the Makefile). Production sets the variables listed in
README ("Configuration") and uses ``config.settings.production``.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.management.utils import get_random_secret_key

from config.storage import default_storage_settings
from diary import task_names

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(str(BASE_DIR / ".env"))

# Safe by default: debug pages list settings and URL patterns, so only `make run` (or a
# developer's DJANGO_DEBUG=true) switches them on.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# No key in the code: without DJANGO_SECRET_KEY each process draws a random one, so nothing signed
# (sessions, password-reset links) can be forged, and nothing signed survives a restart either.
# `make run` keeps a development key in var/; production refuses to start without one.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="") or get_random_secret_key()
# export_annotations (docs/corrections.md): the key of the patients' pseudonymous groups. Kept for
# the life of the exported data: another key gives every patient another group.
RESEARCH_EXPORT_KEY = env("RESEARCH_EXPORT_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
]
LOCAL_APPS = [
    "diary",
    "segmentation",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Refuses an oversized body by its Content-Length before anything parses or spools it.
    "diary.middleware.RequestSizeLimitMiddleware",
    # ``?body_site=`` under /api/ is a 400, not a silently ignored filter.
    "diary.middleware.BlankQueryParameterMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Outside the 503 handler, so a request that failed on the database is still audited.
    "diary.audit.AuditMiddleware",
    "diary.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default is served by threads that write at once (runserver analyses uploads
    # in its request threads; the tests' live server answers parallel image requests, each with
    # an audit entry). SQLite's deferred transactions failed at once with "database is locked"
    # when they upgraded to writing (a burst of 50 uploads left 26 photos failed: bench/latency.py,
    # docs/performance.md). IMMEDIATE takes the write lock at BEGIN, where the timeout waits; WAL
    # lets readers go on meanwhile.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 30, "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests on a file too: Django's in-memory test database is one shared cache, whose table
    # locks fail at once ("database table is locked") instead of waiting.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "diary.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- Files ------------------------------------------------------------------------------------
# Media is never served from a public URL: photos, masks and overlays are health data and are
# streamed only by views that check who is asking (diary.api.photos): there is no MEDIA_URL route.
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media"))
STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))

# Local disk, or an S3-compatible bucket shared by worker hosts (config/storage.py). Neither
# backend gives out URLs: a presigned link would outlive the permission check.
_default_storage = default_storage_settings(env)
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": env(
            "DJANGO_STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}

# --- Uploads ----------------------------------------------------------------------------------
PHOTO_MAX_UPLOAD_BYTES = env.int("PHOTO_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
PHOTO_MAX_PIXELS = env.int("PHOTO_MAX_PIXELS", default=50_000_000)
PHOTO_MIN_SIDE = env.int("PHOTO_MIN_SIDE", default=16)
DATA_UPLOAD_MAX_MEMORY_SIZE = PHOTO_MAX_UPLOAD_BYTES + 1024 * 1024
# A photo's ``taken_at`` may be this far ahead of the server's clock (a phone's clock drifts);
# further ahead, or before 1990 or the patient's birth year, it is refused (diary/services/dates).
PHOTO_TAKEN_AT_CLOCK_SKEW = timedelta(
    minutes=env.int("PHOTO_TAKEN_AT_CLOCK_SKEW_MINUTES", default=10)
)

# --- REST API ---------------------------------------------------------------------------------
API_TOKEN_TTL = timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=24 * 14))
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "diary.api.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies; the photo upload alone takes multipart (diary/api/photos.py). Offering forms
    # too made generated clients send fields as strings (a null body_site became "None").
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # Content negotiation by the Accept header only: the file routes have their own URLs
    # (chart.png, export.csv), so a ``?format=`` parameter would only duplicate them.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "diary.api.errors.json_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "login": env("API_LOGIN_RATE", default="10/min"),
        "upload": env("API_UPLOAD_RATE", default="120/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Vitiligo Diary API",
    "DESCRIPTION": "Lesion photos, their segmentation and severity measures, and treatments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # 503/413/415/429 and pages: answers that come from outside the views (issue 7, fuzzing).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "diary.api.schema_hooks.add_common_responses",
    ],
}

# --- Celery -----------------------------------------------------------------------------------
# The in-memory transport names a host so that kombu does not warn that it "reverts" to one.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://localhost/")
# The embedded default has no broker: tasks then run in-process, right after the upload commits.
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL.startswith("memory://")
)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = "default"
# Inference on ``gpu``; re-analysis after a model activation on ``gpu_low``, which the GPU worker
# drains only when ``gpu`` is empty (the "priority" queue order below); light work on ``default``.
CELERY_TASK_ROUTES = {task_names.ANALYSE_PHOTO: {"queue": "gpu"}}
PIPELINE_REANALYSIS_QUEUE = "gpu_low"
# One message at a time for the light worker; the GPU worker raises it on its command line to the
# batch size, or celery-batches could never see more than one waiting photo (README, "Workers").
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A message is acknowledged after its task ran; a killed worker's messages go back to the queue.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Time limits of one analysis batch (seconds): the soft one lets the task record what happened.
PIPELINE_SOFT_TIME_LIMIT = env.int("PIPELINE_SOFT_TIME_LIMIT", default=240)
PIPELINE_TIME_LIMIT = env.int("PIPELINE_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = PIPELINE_SOFT_TIME_LIMIT
CELERY_TASK_TIME_LIMIT = PIPELINE_TIME_LIMIT
# Redis re-delivers an unacknowledged message after the visibility timeout, so it must exceed the
# longest a message can stay reserved: the batch wait plus the hard time limit, with margin.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "queue_order_strategy": "priority",
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# An upload must answer quickly even with the broker down: a short publish retry, then the photo
# stays pending and the recovery task sends it again.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# Micro-batching on the GPU worker (celery-batches): up to N photos per forward pass, waiting at
# most the interval for the batch to fill. N = 1 analyses photos one by one.
PIPELINE_BATCH_SIZE = env.int("PIPELINE_BATCH_SIZE", default=8)
PIPELINE_BATCH_INTERVAL_SECONDS = env.float("PIPELINE_BATCH_INTERVAL_SECONDS", default=0.5)
# Transient errors (database, storage): retried with exponential backoff, then the photo fails.
PIPELINE_MAX_RETRIES = env.int("PIPELINE_MAX_RETRIES", default=5)
PIPELINE_RETRY_BACKOFF_MAX = env.int("PIPELINE_RETRY_BACKOFF_MAX", default=600)
# A photo whose analysis kills the worker process (out of memory, a native crash) is redelivered;
# after this many analyses that never reported back it ends ``failed`` and the worker moves on.
PIPELINE_MAX_ANALYSIS_ATTEMPTS = env.int("PIPELINE_MAX_ANALYSIS_ATTEMPTS", default=3)
# "cuda", "cuda:1", "cpu"; empty = CUDA when available. Read in the worker process only.
PIPELINE_DEVICE = env("PIPELINE_DEVICE", default="") or None
# How a CPU worker runs the forward passes: "eager" (PyTorch) or "onnxruntime" (the model exported
# to ONNX once per worker process). CUDA always runs eager. Measurements: docs/performance.md.
PIPELINE_INFERENCE_BACKEND = env("PIPELINE_INFERENCE_BACKEND", default="eager")
# Recovery: photos pending or processing for longer than this are sent again. Keep it above the
# hard time limit plus the usual queue wait.
PIPELINE_STALE_AFTER = timedelta(minutes=env.int("PIPELINE_STALE_AFTER_MINUTES", default=30))
# Stored files no row names (a deletion whose storage call failed) are removed by a periodic
# sweep once older than the grace period: uploads and analyses write the file just before the row.
STORAGE_SWEEP_GRACE = timedelta(minutes=env.int("STORAGE_SWEEP_GRACE_MINUTES", default=60))
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-photos": {
        "task": task_names.REQUEUE_STALE_PHOTOS,
        "schedule": timedelta(minutes=env.int("PIPELINE_RECOVERY_EVERY_MINUTES", default=10)),
    },
    "sweep-stored-files": {
        "task": task_names.SWEEP_STORED_FILES,
        "schedule": timedelta(minutes=env.int("STORAGE_SWEEP_EVERY_MINUTES", default=60)),
    },
}

# --- Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
