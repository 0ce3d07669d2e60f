"""Released research tokenizers, loaded natively by the studio's adapters (``backends/tasks/tokenize/research``).

Data only. ``filename`` is the released file inside ``repo_id`` (``hf_hub_download`` or a ``STUDIO_CHECKPOINT_ROOTS``
folder); ``architecture`` names the random-weight miniature the adapter writes in the same container layout for
the tiny profile. Facts: ``shared/reference/tokenizers.md`` and the authors' repositories (cited in each adapter).
"""

from __future__ import annotations

from backends.models.spec import CodeDefaults, ModelSpec, SizeRule

_RESEARCH = "backends.tasks.tokenize.research"
_NATIVE = SizeRule(default=256, minimum=256, maximum=256, multiple=16)  # center-cropped to the trained size

_ROBUST_PAPER = ("RobustTok: Robust Latent Matters, Boosting Image Generation with Sampling Error Synthesis "
                 "(arXiv:2503.08354)")
_ROBUST_LICENSE = "Adobe Research License (non-commercial research only)"
_TITOK_PAPER = "An Image is Worth 32 Tokens for Reconstruction and Generation (TiTok, arXiv:2406.07550)"


def _robust(key: str, name: str, repo: str, filename: str, codebook: str, architecture: str, notes: str,
            paper: str = _ROBUST_PAPER) -> ModelSpec:
    return ModelSpec(
        key=key, name=name, task="tok", backend=f"{_RESEARCH}.robusttok:RobustTokTokenizer", loader="code",
        repo_id=repo, defaults=CodeDefaults(filename=filename, options={"codebook": codebook}),
        architecture=architecture, dtype="float32", size=_NATIVE, license=_ROBUST_LICENSE, vram_gb=1, cpu_ok=True,
        paper=paper, notes=notes)


def _titok(key: str, name: str, variant: str, notes: str) -> ModelSpec:
    return ModelSpec(
        key=key, name=name, task="tok", backend=f"{_RESEARCH}.titok:TiTokTokenizer", loader="code",
        repo_id=f"yucornetto/tokenizer_titok_{variant}_imagenet",
        defaults=CodeDefaults(filename="config.json",
                              options={"variant": variant, "fetch_also": ("model.safetensors", "pytorch_model.bin")}),
        architecture=f"titok_{variant}", dtype="float32", size=_NATIVE, license="apache-2.0", vram_gb=2, cpu_ok=True,
        paper=_TITOK_PAPER, notes=notes)


ORDER = 31  # right after the tokenizers of catalog/tokenize.py
SPECS: tuple[ModelSpec, ...] = (
    _robust("tok/robusttok", "RobustTok (RobustTok-zero)", "qiuk6/RobustTok", "RobustTok-zero.pt", "4096",
            "robusttok_zero", "ViT-B VQ, 256 tokens x 12 bits, trained with latent perturbation (rFID 1.02, pFID "
                              "2.28). Its like-for-like control is XQGAN-4096."),
    _robust("tok/xqgan-4096", "XQGAN-4096 (RobustTok's control)", "qiuk6/RobustTok", "XQGAN-4096.pt", "4096",
            "xqgan_4096", "Same architecture as RobustTok-zero, trained without perturbation (rFID 0.91, pFID "
                          "6.98)."),
    _robust("tok/xqgan-8192", "XQGAN-8192", "qiuk6/RobustTok", "XQGAN-8192.pt", "8192", "xqgan_8192",
            "Codebook 8192 x 32, 13 bits per token (rFID 0.81, pFID 7.91)."),
    _robust("tok/robustok-main", "RobusTok (main training)", "qiuk6/RobusTok", "main-train.pt", "4096",
            "robustok_main", "The follow-up's tokenizer before post-training; same architecture as RobustTok.",
            "Image Tokenizer Needs Post-Training (RobusTok, arXiv:2509.12474)"),
    _robust("tok/robustok-post", "RobusTok (post-trained)", "qiuk6/RobusTok", "post-train.pt", "4096",
            "robustok_post", "The follow-up's tokenizer after post-training (decoder tuned on generated latents).",
            "Image Tokenizer Needs Post-Training (RobusTok, arXiv:2509.12474)"),
    ModelSpec(
        key="tok/llamagen-vq", name="LlamaGen VQ-16", task="tok", backend=f"{_RESEARCH}.llamagen:LlamaGenTokenizer",
        loader="code", repo_id="FoundationVision/LlamaGen", defaults=CodeDefaults(filename="vq_ds16_c2i.pt"),
        architecture="llamagen_vq16", dtype="float32", size=_NATIVE, license="mit", vram_gb=0.5, cpu_ok=True,
        paper="Autoregressive Model Beats Diffusion: Llama for Scalable Image Generation (LlamaGen, arXiv:2406.06525)",
        notes="CNN VQGAN, 256 tokens x 14 bits (codebook 16384 x 8, l2-normalised); rFID 2.19 at 256 px.",
    ),
    _titok("tok/titok", "TiTok-L-32", "l32", "32 tokens x 12 bits (1D), decoded through MaskGIT-VQGAN; rFID 2.21."),
    _titok("tok/titok-b64", "TiTok-B-64", "b64", "64 tokens x 12 bits (1D), MaskGIT-VQGAN decoder; rFID 1.70."),
    _titok("tok/titok-s128", "TiTok-S-128", "s128", "128 tokens x 12 bits (1D), MaskGIT-VQGAN decoder; rFID 1.71."),
    _titok("tok/titok-sl256-vq8k", "TiTok-SL-256 VQ-8k", "sl256_vq8k",
           "256 tokens x 13 bits (plain 8192 x 64 codebook), pixel decoder; rFID 1.03."),
    _titok("tok/titok-bl128-vae", "TiTok-BL-128 VAE", "bl128_vae_c16",
           "128 continuous 16-d tokens (the posterior mean, counted as float16); rFID 0.84."),
    ModelSpec(
        key="tok/semanticist", name="Semanticist (DiT-XL decoder)", task="tok",
        backend=f"{_RESEARCH}.semanticist:SemanticistTokenizer", loader="code", repo_id="tennant/semanticist",
        defaults=CodeDefaults(filename="semanticist_tok_XL.pkl",
                              options={"variant": "xl", "vae": "tok/mar-vae", "steps": 25, "guidance": 3.0}),
        architecture="semanticist_xl", dtype="float32", size=_NATIVE, license="mit", vram_gb=4, cpu_ok=False,
        paper="\"Principal Components\" Enable A New Language of Images (Semanticist, arXiv:2503.08685)",
        notes="256 ordered continuous 16-d tokens; any prefix decodes (the tail replaced by null tokens). Decoding is "
              "a DiT-XL/2 diffusion in the MAR-VAE latent: 25 steps by default (the released config samples 250), "
              "guidance 3.0; minutes per image on a CPU. Needs tok/mar-vae fetched too.",
    ),
    ModelSpec(
        key="tok/va-vae", name="VA-VAE f16d32", task="tok", backend=f"{_RESEARCH}.vavae:VAVAETokenizer",
        loader="code", repo_id="hustvl/vavae-imagenet256-f16d32-dinov2",
        defaults=CodeDefaults(filename="vavae-imagenet256-f16d32-dinov2.pt"), architecture="vavae_f16d32",
        dtype="float32", size=_NATIVE, license="mit", vram_gb=0.5, cpu_ok=True,
        paper="Reconstruction vs. Generation: Taming Optimization Dilemma in Latent Diffusion Models (VA-VAE, "
              "arXiv:2501.01423)",
        notes="LDM KL autoencoder, f16, 32 channels (16x16x32 at 256 px, counted as float16); rFID 0.28.",
    ),
    ModelSpec(
        key="tok/lactok", name="LaCTok (Layton)", task="tok", backend=f"{_RESEARCH}.lactok:LaCTokEntry",
        loader="code", repo_id="OPPOer/LaCTok", defaults=CodeDefaults(filename="LaCTok-T.pth"), dtype="float16",
        license="not stated (no LICENSE file)", requires=("diffusion_pipeline_tlcm",), vram_gb=16,
        paper="LaCTok / Layton: 1024 px images from 256 tokens with a latent-consistency decoder (arXiv:2503.08377)",
        notes="No adapter yet: no key listing of LaCTok-T.pth to verify one against (peft LoRA and ControlNet key "
              "layout; CNN or transformer encoder), an SDXL UNet + ControlNet decoder (several GB, a GPU job) and no "
              "licence. With github.com/Alpha-X-95/LaCToK on the Python path it could be run with the authors' code.",
    ),
)
