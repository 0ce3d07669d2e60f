"""Face Q&A and attribute checks (UniF2ace direction): the measuring engine and the vision-language models.

Data only. ``face/mediapipe`` measures (pose, eyes, mouth, smile, gaze) and answers from the measurements; every
other ``face/*`` entry is a Q&A engine whose backend takes a ``backends.vision.vqa.VQARequest`` (a new engine, e.g.
a unified understanding-and-generation model, is one more entry here). UniF2ace itself released no weights.

Qwen2.5-VL, Qwen3-VL and SmolVLM2 processors include a video processor that needs torchvision; torchvision is not
in requirements.txt because installing it would replace the pinned torch build, so these entries list it in
``requires`` and stay unavailable (in both profiles, with that reason) until a matching torchvision is installed.
"""

from __future__ import annotations

from backends.models.spec import ModelSpec, TransformersDefaults

_VLM = "backends.tasks.face.vlm:FaceVLM"
_AUTO = "AutoModelForImageTextToText"
_TORCHVISION = ("needs torchvision for its processor's video part; not installed because a torchvision wheel would "
                "replace the pinned torch (install the build matching torch 2.13 to enable it). No miniature for the "
                "same reason.")

ORDER = 50  # where the UI lists these models
SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="face/mediapipe", name="Measured (MediaPipe face mesh)", task="face",
        backend="backends.tasks.face.analyze:FaceAnalyzer", loader="builtin", dtype="float32", license="apache-2.0",
        languages=("en", "zh"), vram_gb=0.0, cpu_ok=True,
        paper="Attention Mesh (arXiv:2006.10962) with MediaPipe Iris (arXiv:2006.11341); head pose by Procrustes "
              "to MediaPipe's canonical face model",
        notes="Bundled with mediapipe 0.10.21 (offline). Answers eyes, mouth, smile, laugh, head pose, gaze, count, "
              "size and proportions from geometry, with the value and the heuristic threshold.",
    ),
    ModelSpec(
        key="face/smolvlm-256m", name="SmolVLM-256M-Instruct", task="face", backend=_VLM, loader="transformers",
        repo_id="HuggingFaceTB/SmolVLM-256M-Instruct", class_name=_AUTO, architecture="vlm_idefics3",
        dtype="bfloat16", defaults=TransformersDefaults(max_new_tokens=96), license="apache-2.0", languages=("en",),
        vram_gb=1.0, cpu_ok=True,
        paper="SmolVLM: Redefining small and efficient multimodal models (arXiv:2504.05299)",
        notes="Idefics3 architecture; the smallest chat VLM here and practical on a CPU. English only.",
    ),
    ModelSpec(
        key="face/smolvlm2-2.2b", name="SmolVLM2-2.2B-Instruct", task="face", backend=_VLM, loader="transformers",
        repo_id="HuggingFaceTB/SmolVLM2-2.2B-Instruct", class_name=_AUTO, dtype="bfloat16",
        defaults=TransformersDefaults(max_new_tokens=128), license="apache-2.0", languages=("en",),
        requires=("torchvision",), vram_gb=5.5, cpu_ok=False,
        paper="SmolVLM: Redefining small and efficient multimodal models (arXiv:2504.05299)",
        notes=f"SmolVLM2 (video-capable); {_TORCHVISION}",
    ),
    ModelSpec(
        key="face/florence2-base", name="Florence-2-base", task="face", backend=_VLM, loader="transformers",
        repo_id="florence-community/Florence-2-base", class_name=_AUTO, architecture="vlm_florence2",
        dtype="float16", defaults=TransformersDefaults(max_new_tokens=128), license="mit", languages=("en",),
        vram_gb=1.0, cpu_ok=True,
        paper="Florence-2: Advancing a Unified Representation for a Variety of Vision Tasks (arXiv:2311.06242)",
        notes="Native transformers conversion of microsoft/Florence-2-base. Trained on task prompts, not chat: free "
              "questions get its detailed caption (labelled as a description); its yes/no checks are unreliable.",
    ),
    ModelSpec(
        key="face/qwen2.5-vl-7b", name="Qwen2.5-VL-7B-Instruct", task="face", backend=_VLM, loader="transformers",
        repo_id="Qwen/Qwen2.5-VL-7B-Instruct", class_name=_AUTO, dtype="bfloat16",
        defaults=TransformersDefaults(max_new_tokens=128), license="apache-2.0", languages=("zh", "en"),
        requires=("torchvision",), vram_gb=17.0, paper="Qwen2.5-VL Technical Report (arXiv:2502.13923)",
        notes=f"Bilingual. (The 3B model is under the Qwen Research License.) {_TORCHVISION}",
    ),
    ModelSpec(
        key="face/qwen3-vl-2b", name="Qwen3-VL-2B-Instruct", task="face", backend=_VLM, loader="transformers",
        repo_id="Qwen/Qwen3-VL-2B-Instruct", class_name=_AUTO, dtype="bfloat16",
        defaults=TransformersDefaults(max_new_tokens=128), license="apache-2.0", languages=("zh", "en"),
        requires=("torchvision",), vram_gb=5.0, paper="Qwen3-VL (Qwen team, 2025)",
        notes=f"Bilingual, the smallest Qwen3-VL. {_TORCHVISION}",
    ),
    ModelSpec(
        key="face/gemma3-4b", name="Gemma 3 4B IT", task="face", backend=_VLM, loader="transformers",
        repo_id="google/gemma-3-4b-it", class_name=_AUTO, architecture="vlm_gemma3", dtype="bfloat16",
        forbidden_dtypes=("float16",), defaults=TransformersDefaults(max_new_tokens=128),
        license="gemma (gated)", languages=("en", "zh"), vram_gb=9.0,
        paper="Gemma 3 Technical Report (arXiv:2503.19786)",
        notes="Gated on the hub: accept the Gemma terms and set HF_TOKEN before make fetch. The 1B and 270M Gemma 3 "
              "models are text-only. bf16 or fp32 (fp16 overflows).",
    ),
    ModelSpec(
        key="face/paligemma2-3b", name="PaliGemma 2 3B mix 224", task="face", backend=_VLM, loader="transformers",
        repo_id="google/paligemma2-3b-mix-224", class_name=_AUTO, architecture="vlm_paligemma", dtype="bfloat16",
        defaults=TransformersDefaults(max_new_tokens=64), license="gemma (gated)", languages=("en", "zh"),
        vram_gb=7.0, paper="PaliGemma 2: A Family of Versatile VLMs for Transfer (arXiv:2412.03555)",
        notes="Gated on the hub (Gemma terms, HF_TOKEN). No chat template: questions go in as 'answer <lang> ...' "
              "prefixes; answers are short.",
    ),
)
