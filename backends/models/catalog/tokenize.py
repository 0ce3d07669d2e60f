"""Image tokenizers (Layton / LaCTok, Semanticist, RobustTok directions), and the feature extractor behind rFID /
pFID. Codec options are the builtin defaults; the size rule bounds the side the image is resized to.

Data only: one ``ModelSpec`` per model, with the facts that matter to run it well. Facts come from the model
cards and the diffusers docs. Keys are ``"<task>/<name>"`` and are the same in the ``real`` and ``tiny`` profiles.
"""

from __future__ import annotations

from backends.models.spec import BuiltinDefaults, CodeDefaults, ModelSpec, SizeRule

_CODEC = "backends.tasks.tokenize.builtin:CodecTokenizer"
_AUTOENCODER = "backends.tasks.tokenize.autoencoders:AutoencoderTokenizer"
_RESEARCH = "backends.tasks.tokenize.research.placeholder:ResearchTokenizer"

ORDER = 30  # where the UI lists these models
SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="tok/pca", name="PCA patch tokenizer (ordered)", task="tok", backend=_CODEC, loader="builtin",
        dtype="float32", defaults=BuiltinDefaults(options={"codec": "pca", "patch": 8}),
        size=SizeRule(default=512, minimum=16, maximum=2048, multiple=1), license="apache-2.0 (studio code)",
        cpu_ok=True, paper="Semanticist: \"Principal Components\" Enable a New Language of Images (arXiv:2503.08685)",
        notes="Weight-free: a PCA basis of 8x8 patches fitted on the image; token k = component k over all patches, "
              "so prefixes are coarse-to-fine and the full sequence reconstructs exactly (Semanticist's idea in "
              "its simplest exact form).",
    ),
    ModelSpec(
        key="tok/vq", name="k-means patch VQ (256 codes)", task="tok", backend=_CODEC, loader="builtin",
        dtype="float32", defaults=BuiltinDefaults(options={"codec": "vq", "patch": 8, "codebook_size": 256}),
        size=SizeRule(default=512, minimum=16, maximum=2048, multiple=1), license="apache-2.0 (studio code)",
        cpu_ok=True, paper="RobustTok: Robust Latent Perturbation for AR Visual Generation (arXiv:2503.08354)",
        notes="Weight-free: a k-means codebook of 8x8 patches fitted on the image (8 bits per token). Supports "
              "RobustTok's perturbation (alpha, delta).",
    ),
    ModelSpec(
        key="tok/dct", name="DCT baseline (JPEG-like, rate-matched)", task="tok", backend=_CODEC, loader="builtin",
        dtype="float32", defaults=BuiltinDefaults(options={"codec": "dct", "block": 8}),
        size=SizeRule(default=512, minimum=16, maximum=2048, multiple=1), license="apache-2.0 (studio code)",
        cpu_ok=True, paper="The JPEG still picture compression standard (Wallace, 1991)",
        notes="8x8 block DCT keeping the coefficients that fit a bit budget: matched to another tokenizer's size "
              "when compared side by side (0.25 bits per pixel alone).",
    ),
    ModelSpec(
        key="tok/sd-vae", name="SD VAE (ft-MSE)", task="tok", backend=_AUTOENCODER, loader="diffusers",
        repo_id="stabilityai/sd-vae-ft-mse", class_name="AutoencoderKL", architecture="vae_sd", dtype="float32",
        size=SizeRule(default=512, minimum=64, maximum=2048, multiple=8), license="mit", vram_gb=1, cpu_ok=True,
        paper="High-Resolution Image Synthesis with Latent Diffusion Models (arXiv:2112.10752)",
        notes="f8, 4 latent channels (counted as float16).",
    ),
    ModelSpec(
        key="tok/sdxl-vae", name="SDXL VAE (fp16 fix)", task="tok", backend=_AUTOENCODER, loader="diffusers",
        repo_id="madebyollin/sdxl-vae-fp16-fix", class_name="AutoencoderKL", architecture="vae_sdxl", dtype="float16",
        size=SizeRule(default=512, minimum=64, maximum=2048, multiple=8), license="mit", vram_gb=1, cpu_ok=True,
        paper="SDXL (arXiv:2307.01952)", notes="f8, 4 latent channels.",
    ),
    ModelSpec(
        key="tok/flux-vae", name="FLUX.1 VAE", task="tok", backend=_AUTOENCODER, loader="diffusers",
        repo_id="black-forest-labs/FLUX.1-schnell", class_name="AutoencoderKL", subfolder="vae",
        architecture="vae_flux", dtype="bfloat16", size=SizeRule(default=512, minimum=64, maximum=2048, multiple=8),
        license="apache-2.0", vram_gb=1, cpu_ok=True, paper="FLUX.1 (Black Forest Labs, 2024)",
        notes="f8, 16 latent channels.",
    ),
    ModelSpec(
        key="tok/taesd", name="TAESD (tiny autoencoder)", task="tok", backend=_AUTOENCODER, loader="diffusers",
        repo_id="madebyollin/taesd", class_name="AutoencoderTiny", architecture="taesd", dtype="float32",
        size=SizeRule(default=512, minimum=64, maximum=2048, multiple=8), license="mit", vram_gb=0.1, cpu_ok=True,
        paper="TAESD: Tiny AutoEncoder for Stable Diffusion (madebyollin, 2023)", notes="2.4M parameters, f8.",
    ),
    ModelSpec(
        key="tok/movq", name="MoVQ (Kandinsky 2.2 VQ-GAN)", task="tok", backend=_AUTOENCODER, loader="diffusers",
        repo_id="kandinsky-community/kandinsky-2-2-decoder", class_name="VQModel", subfolder="movq",
        architecture="vqgan", dtype="float32", size=SizeRule(default=512, minimum=64, maximum=2048, multiple=8),
        license="apache-2.0", vram_gb=1, cpu_ok=True,
        paper="MoVQ: Modulating Quantized Vectors for High-Fidelity Image Generation (arXiv:2209.09002)",
        notes="Discrete: 16384 codes, f8 (14 bits per token); supports RobustTok's perturbation.",
    ),
    ModelSpec(
        key="tok/robusttok", name="RobustTok", task="tok", backend=_RESEARCH, loader="code", repo_id="qiuk6/RobustTok",
        dtype="float32", defaults=CodeDefaults(options={"module": "tokenizer.tokenizer_image.xqgan_model"}),
        license="see github.com/lxa9867/ImageFolder (LICENSE.md)", requires=("tokenizer",),
        paper="RobustTok (arXiv:2503.08354): latent perturbation, pFID",
        notes="Needs the authors' code from github.com/lxa9867/ImageFolder (not on PyPI, not shipped here) and the "
              "RobustTok-zero.pt checkpoint; the adapter is not verified yet.",
    ),
    ModelSpec(
        key="tok/semanticist", name="Semanticist", task="tok", backend=_RESEARCH, loader="code",
        repo_id="tennant/semanticist", dtype="float32", defaults=CodeDefaults(options={"module": "semanticist"}),
        license="not stated by the authors", requires=("semanticist",),
        paper="\"Principal Components\" Enable a New Language of Images (arXiv:2503.08685)",
        notes="Needs the authors' code from github.com/visual-gen/semanticist (DiffuseSlot with a diffusion "
              "decoder; not on PyPI, not shipped here); the adapter is not verified yet.",
    ),
    ModelSpec(
        key="tok/titok", name="TiTok-L-32", task="tok", backend=_RESEARCH, loader="code",
        repo_id="yucornetto/tokenizer_titok_l32_imagenet", dtype="float32",
        defaults=CodeDefaults(options={"module": "modeling.titok"}), license="apache-2.0 (code)",
        requires=("modeling",),
        paper="An Image is Worth 32 Tokens for Reconstruction and Generation (TiTok, NeurIPS 2024)",
        notes="Needs github.com/bytedance/1d-tokenizer on the Python path (TiTok.from_pretrained); not shipped "
              "here; the adapter is not verified yet.",
    ),
    ModelSpec(
        key="tok/llamagen-vq", name="LlamaGen VQ-16", task="tok", backend=_RESEARCH, loader="code",
        repo_id="FoundationVision/LlamaGen", dtype="float32",
        defaults=CodeDefaults(options={"module": "tokenizer.tokenizer_image.vq_model"}), license="mit",
        requires=("tokenizer",), paper="Autoregressive Model Beats Diffusion: LlamaGen (arXiv:2406.06525)",
        notes="Needs github.com/FoundationVision/LlamaGen (VQ_models) and vq_ds16_c2i.pt; not shipped here; the "
              "adapter is not verified yet.",
    ),
    ModelSpec(
        key="tok/lactok", name="LaCTok (Layton)", task="tok", backend=_RESEARCH, loader="code",
        repo_id="OPPOer/LaCTok", dtype="float32", defaults=CodeDefaults(options={"module": "vq_model"}),
        license="not stated by the authors", requires=("vq_model",),
        paper="Layton / LaCTok: 1024px images from 256 tokens with a latent-consistency decoder (arXiv:2503.08377)",
        notes="Needs github.com/Alpha-X-95/LaCToK (vq_model.py, the latent-consistency decoder) and flan-t5-xl; "
              "not shipped here; the adapter is not verified yet.",
    ),
    ModelSpec(
        key="metric/inception-fid", name="Inception-v3 (FID features)", task="metric",
        backend="backends.vision.features:InceptionFeatures", loader="code", dtype="float32",
        license="apache-2.0 (weights: torch-fidelity's port of TF Inception)", requires=("torchmetrics",), vram_gb=0.2,
        cpu_ok=True,
        paper="GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium (FID, "
              "arXiv:1706.08500)",
        notes="Optional: pip install 'torchmetrics[image]' (pulls torchvision) and network for the weights; "
              "rFID / pFID are reported as unavailable otherwise.",
    ),
)
