# Stockcast: the API (default command), the trainer and the MLflow server share this image.
#   CPU (default):  docker build -t stockcast .
#   CUDA:           docker build -t stockcast:cuda --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu126 .
# The CUDA wheels carry their CUDA libraries; the host needs only the NVIDIA driver and
# `gpus: all` (docker-compose.yml's trainer shows where).
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 stockcast
WORKDIR /app

# torch first, from the chosen index, so the project's loose requirement is already satisfied
RUN pip install --index-url "${TORCH_INDEX}" "torch==${TORCH_VERSION}"
COPY pyproject.toml README.md ./
COPY forecast ./forecast
COPY pipelines ./pipelines
COPY service ./service
RUN pip install ".[postgres]"

USER stockcast
ENV STOCKCAST_DATA_DIR=/home/stockcast/.cache/stockcast
EXPOSE 8000
# 0.0.0.0 inside the container only; docker-compose.yml publishes it on the host's loopback
CMD ["uvicorn", "service.app:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]
