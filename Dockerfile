# Self-hosted studio (and Docker Spaces): non-root user 1000, port 7860, model weights on a volume, none baked in.
FROM python:3.11-slim

# libGL/glib for OpenCV (mediapipe, rapidocr); CJK fonts so Chinese labels and grids render.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 user
USER user
ENV HOME=/home/user \
    PATH=/home/user/.local/bin:$PATH \
    HF_HOME=/home/user/.cache/huggingface \
    STUDIO_DATA_DIR=/home/user/data \
    STUDIO_HOST=0.0.0.0 \
    STUDIO_PORT=7860 \
    GRADIO_ANALYTICS_ENABLED=False \
    PYTHONUNBUFFERED=1
WORKDIR /home/user/app

COPY --chown=user requirements.txt .
RUN pip install --no-cache-dir --user -r requirements.txt

COPY --chown=user . .
# Weights (HF cache) and outputs/labels live on volumes so a new image keeps them.
RUN mkdir -p "$HF_HOME" "$STUDIO_DATA_DIR"
VOLUME ["/home/user/.cache/huggingface", "/home/user/data"]

EXPOSE 7860
CMD ["python", "app.py"]
