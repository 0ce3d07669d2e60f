"""Image tokenizers: the weight-free teaching baselines, the DCT reference, diffusers autoencoders, and the feature
extractor behind rFID / pFID (the released research tokenizers are in ``tokenize_research.py``). Codec options are
the builtin defaults; the size rule bounds the side the image is resized to.

Data only: one ``ModelSpec`` per model, with the facts that matter to run it well. Facts come from the model
cards and the diffusers docs. Keys are ``"<task>/<name>"`` and are the same in the ``real`` and ``tiny`` profiles.
"""

from __future__ import annotations

from backends.models.spec import BuiltinDefaults, ModelSpec, SizeRule

_CODEC = "backends.tasks.tokenize.builtin:CodecTokenizer"
_AUTOENCODER = "backends.tasks.tokenize.autoencoders:AutoencoderTokenizer"

ORDER = 30  # where the UI lists these models
SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="tok/pca", name="PCA patches (teaching baseline, fitted on the image)", task="tok", backend=_CODEC,
        loader="builtin",
        dtype="float32", defaults=BuiltinDefaults(options={"codec": "pca", "patch": 8}),
        size=SizeRule(default=512, minimum=16, maximum=2048, multiple=1), license="apache-2.0 (studio code)",
        cpu_ok=True, paper="Semanticist: \"Principal Components\" Enable a New Language of Images (arXiv:2503.08685)",
        notes="Teaching baseline, not a learned tokenizer: a PCA basis of 8x8 patches fitted on the image itself; "
              "token k = component k over all patches, so prefixes are coarse-to-fine (Semanticist's idea in its "
              "simplest exact form). Its bits count the tokens and the fitted basis and mean (16 bits per value), "
              "which the decoder needs: more than the raw image when all 192 components are kept.",
    ),
    ModelSpec(
        key="tok/vq", name="k-means patch VQ (teaching baseline, fitted on the image)", task="tok", backend=_CODEC,
        loader="builtin",
        dtype="float32", defaults=BuiltinDefaults(options={"codec": "vq", "patch": 8, "codebook_size": 256}),
        size=SizeRule(default=512, minimum=16, maximum=2048, multiple=1), license="apache-2.0 (studio code)",
        cpu_ok=True, paper="RobustTok: Robust Latent Perturbation for AR Visual Generation (arXiv:2503.08354)",
        notes="Teaching baseline, not a learned tokenizer: a k-means codebook of 256 8x8 patches fitted on the image "
              "itself (8 bits per token). Its bits count the tokens and the fitted codebook (16 bits per value). "
              "Supports RobustTok's perturbation (alpha, delta).",
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
        key="tok/mar-vae", name="MAR KL-16 VAE", task="tok", backend=_AUTOENCODER, loader="diffusers",
        repo_id="xwen99/mar-vae-kl16", class_name="AutoencoderKL", architecture="vae_mar16", dtype="float32",
        size=SizeRule(default=256, minimum=64, maximum=1024, multiple=16),
        license="MIT (MAR code; weights: see the repo)", vram_gb=0.5, cpu_ok=True,
        paper="Autoregressive Image Generation without Vector Quantization (MAR, arXiv:2406.11838)",
        notes="f16, 16 latent channels (counted as float16). The VAE Semanticist decodes through.",
    ),
    ModelSpec(
        key="tok/dc-ae-f32c32", name="DC-AE f32c32 (SANA 1.0)", task="tok", backend=_AUTOENCODER, loader="diffusers",
        repo_id="mit-han-lab/dc-ae-f32c32-sana-1.0-diffusers", class_name="AutoencoderDC",
        architecture="dc_ae_f32c32", dtype="bfloat16",
        size=SizeRule(default=512, minimum=64, maximum=2048, multiple=32),
        license="see the repo's LICENSE.txt", vram_gb=1.5, cpu_ok=True,
        paper="Deep Compression Autoencoder for Efficient High-Resolution Diffusion Models (DC-AE, arXiv:2410.10733)",
        notes="f32, 32 latent channels (8x8x32 at 256 px, counted as float16): a continuous baseline.",
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
