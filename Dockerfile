# One image for the web server and the Celery workers. The GPU worker runs it on a host with the
# NVIDIA container toolkit; torch's standard wheels carry their CUDA libraries.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=localhost \
    DJANGO_SETTINGS_MODULE=config.settings.production python manage.py collectstatic --noinput

RUN useradd --create-home --uid 1000 diary && mkdir -p /app/var && chown -R diary /app/var
USER diary
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
