"""The model manager: specs and the catalog, the registry, device policy, weights (one ``load_pretrained``), the
Backend protocol, the model cache and the executors. Nothing here imports torch at import time."""
