# syntax=docker/dockerfile:1
# The RQ worker: TensorFlow with CUDA from pip wheels. It uses the GPU when the container has one (NVIDIA
# container toolkit, see docker-compose.yml) and falls back to the CPU otherwise.
# Build from the repository root:  docker build -f docker/worker.Dockerfile -t siamese-assist-worker .
FROM python:3.11-slim

# tensorflow[and-cuda] brings the CUDA/cuDNN libraries; pass --build-arg TF_PACKAGE=tensorflow-cpu==2.21.0 for a
# smaller CPU-only image.
ARG TF_PACKAGE="tensorflow[and-cuda]==2.21.0"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TF_CPP_MIN_LOG_LEVEL=2

WORKDIR /app
COPY requirements.txt /tmp/requirements.txt
RUN sed -i "s|^tensorflow-cpu==.*|${TF_PACKAGE}|" /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt

COPY common/ /app/common/
COPY model/ /app/model/
COPY worker/ /app/worker/
# The shipped checkpoint, when the build context has one (a fresh clone may not: weights are not in git).
RUN --mount=type=bind,source=.,target=/context \
    mkdir -p /app/checkpoints \
    && if [ -d /context/checkpoints ]; then cp -r /context/checkpoints/. /app/checkpoints/; fi

RUN useradd --create-home --uid 1000 assist && mkdir -p /data/models && chown -R assist /data
USER assist

# SIGTERM: RQ finishes the current job, then exits (docker stop waits stop_grace_period).
CMD ["python", "-m", "worker"]
