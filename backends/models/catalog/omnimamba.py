"""OmniMamba (hustvl/OmniMamba, arXiv:2503.08686): one 1.3B Mamba-2 model that understands and generates images,
ported onto transformers' native Mamba-2 (``backends/tasks/omnimamba``). Two entries share its weights: an
understanding engine of the face tab's Q&A and a model of the text-to-image tab; each loads only what its task runs.

Data only. ``filename`` is the released checkpoint in ``repo_id``; ``needs`` lists every other released file the
entry is made of, so the Models tab names each missing one (and a memory shortfall) instead of failing deep in a
load. Facts: ``shared/reference/face.md`` (OmniMamba) and the authors' repository at b372978.
"""

from __future__ import annotations

from backends.models.spec import CodeDefaults, ModelSpec, SizeRule

_REPO = "hustvl/OmniMamba"
_FILE = "OmniMamba-1.3b.pth"
_TOKENIZER = "EleutherAI/gpt-neox-20b"
_TOKENIZER_FILES = tuple((_TOKENIZER, f) for f in ("config.json", "tokenizer.json", "tokenizer_config.json",
                                                    "special_tokens_map.json"))
_DINO, _SIGLIP = "facebook/dinov2-with-registers-large", "google/siglip-so400m-patch14-384"
_VQ = ("peizesun/llamagen_t2i", "vq_ds16_t2i.pt")
_PAPER = ("OmniMamba: Efficient and Unified Multimodal Understanding and Generation via State Space Models "
          "(arXiv:2503.08686)")
_LICENSE = "mit (GitHub LICENSE and HF card; the README badge says Apache-2.0)"
_PORT = ("Ported onto transformers 5.24's Mamba2Model (pure PyTorch on a CPU, the mamba-ssm kernels where installed); "
         "the released code needs CUDA, mamba_ssm 2.2.2 and transformers 4.x. Trained on 2M image-text pairs, "
         "English only.")

ORDER = 55  # after the face tab's other engines
SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="face/omnimamba-1.3b", name="OmniMamba-1.3B (understanding)", task="face",
        backend="backends.tasks.omnimamba.understand:OmniMambaUnderstand", loader="code", repo_id=_REPO,
        defaults=CodeDefaults(filename=_FILE, options={
            "tokenizer": _TOKENIZER, "dino": _DINO, "siglip": _SIGLIP, "max_new_tokens": 128,
            "needs": (*_TOKENIZER_FILES, (_DINO, "config.json"), (_DINO, "model.safetensors"),
                      (_SIGLIP, "config.json"), (_SIGLIP, "model.safetensors"))}),
        architecture="omnimamba", dtype="float32", license=_LICENSE, languages=("en",), vram_gb=9.0, cpu_ok=False,
        paper=_PAPER,
        notes=f"{_PORT} Greedy answers as the authors' inference_mmu.py; DINOv2-L + SigLIP-SO400M at 384 px "
              "(SigLIP with timm 0.9.10's exact GELU, as trained). Runs in float32 like the authors' script (about 9 "
              "GB; STUDIO_DTYPE=float16 halves it).",
    ),
    ModelSpec(
        key="t2i/omnimamba-1.3b", name="OmniMamba-1.3B", task="t2i",
        backend="backends.tasks.omnimamba.generate:OmniMambaGenerate", loader="code", repo_id=_REPO,
        defaults=CodeDefaults(filename=_FILE, options={
            "tokenizer": _TOKENIZER, "vq": _VQ, "guidance": 1.0, "temperature": 1.0, "top_k": 1, "top_p": 0.0,
            "needs": (*_TOKENIZER_FILES, _VQ)}),
        architecture="omnimamba", dtype="float32", size=SizeRule(default=256, minimum=256, maximum=256, multiple=16),
        license=_LICENSE, languages=("en",), vram_gb=6.2, cpu_ok=False, paper=_PAPER,
        notes=f"{_PORT} English prompts only (longer than 68 tokens are cut). 256x256 only: 256 tokens of LlamaGen's "
              "VQ-16 (peizesun/llamagen_t2i). Authors' sampling: greedy (top-k 1), temperature 1, no guidance; steps "
              "do not apply. About 6 GB in float32, as the authors' inference_t2i.py runs.",
    ),
)
