"""The text-to-image models (Seedream 2.0 direction): bilingual open models side by side, English references for
contrast, and Seedream itself through the Ark API.

Data only: one ``ModelSpec`` per model, with the facts that matter to run it well. Facts come from the model
cards and the diffusers docs. Keys are ``"<task>/<name>"`` and are the same in the ``real`` and ``tiny`` profiles.
"""

from __future__ import annotations

from backends.models.spec import GenerationDefaults, ModelSpec, SizeRule

_PIPELINE = "backends.tasks.t2i.pipeline:DiffusersTextToImage"

ORDER = 10  # where the UI lists these models
SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="t2i/kolors", name="Kolors", task="t2i", backend=_PIPELINE, loader="diffusers",
        repo_id="Kwai-Kolors/Kolors-diffusers", class_name="KolorsPipeline", variant="fp16", architecture="kolors",
        dtype="float16",
        defaults=GenerationDefaults(
            steps=50, guidance=5.0, call_kwargs={"max_sequence_length": 256}, guidance_param="guidance_scale",
        ),
        size=SizeRule(default=1024, minimum=512, maximum=2048, multiple=8),
        license="Kolors license (academic use; commercial use after registration)", languages=("zh", "en"), vram_gb=19,
        paper="Kolors: Effective Training of Diffusion Model for Photorealistic T2I (Kuaishou, 2024)",
        notes="ChatGLM3-6B text encoder, 256-token context; model card: EulerDiscrete, guidance 5.0, 50 steps.",
    ),
    ModelSpec(
        key="t2i/hunyuan-dit", name="Hunyuan-DiT v1.2", task="t2i", backend=_PIPELINE, loader="diffusers",
        repo_id="Tencent-Hunyuan/HunyuanDiT-v1.2-Diffusers", class_name="HunyuanDiTPipeline",
        architecture="hunyuan_dit", dtype="float16",
        defaults=GenerationDefaults(
            steps=50, guidance=5.0, call_kwargs={"use_resolution_binning": False}, guidance_param="guidance_scale",
        ),
        size=SizeRule(default=1024, minimum=512, maximum=2048, multiple=16), license="tencent-hunyuan-community",
        languages=("zh", "en"), vram_gb=11,
        paper="Hunyuan-DiT: Multi-Resolution Diffusion Transformer with Fine-Grained Chinese Understanding "
              "(arXiv:2405.08748)",
        notes="Bilingual CLIP + mT5 encoders. Resolution binning is off so every model gets the same size; the "
              "model is best at 1024x1024, 1280x1280, 1024x768, 768x1024, 1280x768, 768x1280.",
    ),
    ModelSpec(
        key="t2i/hunyuan-dit-distilled", name="Hunyuan-DiT v1.2 Distilled", task="t2i", backend=_PIPELINE,
        loader="diffusers", repo_id="Tencent-Hunyuan/HunyuanDiT-v1.2-Diffusers-Distilled",
        class_name="HunyuanDiTPipeline", architecture="hunyuan_dit", dtype="float16",
        defaults=GenerationDefaults(
            steps=25, guidance=5.0, call_kwargs={"use_resolution_binning": False}, guidance_param="guidance_scale",
        ),
        size=SizeRule(default=1024, minimum=512, maximum=2048, multiple=16), license="tencent-hunyuan-community",
        languages=("zh", "en"), vram_gb=11, paper="Hunyuan-DiT (arXiv:2405.08748), step-distilled release",
        notes="Same architecture as v1.2, distilled to 25 steps.",
    ),
    ModelSpec(
        key="t2i/cogview4", name="CogView4-6B", task="t2i", backend=_PIPELINE, loader="diffusers",
        repo_id="THUDM/CogView4-6B", class_name="CogView4Pipeline", architecture="cogview4", dtype="bfloat16",
        forbidden_dtypes=("float16",),
        defaults=GenerationDefaults(steps=50, guidance=3.5, guidance_param="guidance_scale"),
        size=SizeRule(default=1024, minimum=512, maximum=2048, multiple=32, max_pixels=2**21), license="apache-2.0",
        languages=("zh", "en"), vram_gb=30, paper="CogView4 (Zhipu AI, 2025), GLM-4-9B text encoder",
        notes="BF16 or FP32 only: FP16 overflows to black images. Sides 512-2048, multiples of 32, at most 2^21 "
              "pixels. ~20 GB with model CPU offload.",
    ),
    ModelSpec(
        key="t2i/qwen-image", name="Qwen-Image", task="t2i", backend=_PIPELINE, loader="diffusers",
        repo_id="Qwen/Qwen-Image", class_name="QwenImagePipeline", architecture="qwen_image", dtype="bfloat16",
        defaults=GenerationDefaults(
            steps=50, guidance=4.0, guidance_param="true_cfg_scale", call_kwargs={"max_sequence_length": 512},
        ),
        size=SizeRule(default=1328, minimum=256, maximum=2048, multiple=16), license="apache-2.0",
        languages=("zh", "en"), vram_gb=58, paper="Qwen-Image Technical Report (arXiv:2508.02324)",
        notes="20B MMDiT + Qwen2.5-VL-7B. CFG only through true_cfg_scale, and only with a negative prompt: the "
              "studio sends ' ' when none is given. guidance_scale is ignored by the base model.",
    ),
    ModelSpec(
        key="t2i/hunyuan-image-2.1", name="HunyuanImage-2.1", task="t2i", backend=_PIPELINE, loader="diffusers",
        repo_id="hunyuanvideo-community/HunyuanImage-2.1-Diffusers", class_name="HunyuanImagePipeline",
        architecture="hunyuan_image", dtype="bfloat16",
        defaults=GenerationDefaults(steps=50, guidance=3.5, guidance_param="guider"),
        size=SizeRule(default=2048, minimum=512, maximum=3072, multiple=64), license="tencent-hunyuan-community",
        languages=("zh", "en"), vram_gb=52,
        paper="HunyuanImage 2.1 (Tencent, 2025): Qwen2.5-VL encoder plus a Glyph-ByT5 branch for quoted text",
        notes="Native 2K. No guidance_scale argument: guidance lives in the pipeline's guider "
              "(AdaptiveProjectedMixGuidance, 3.5); quoted text goes through the ByT5 glyph branch.",
    ),
    ModelSpec(
        key="t2i/taiyi-sd-1b", name="Taiyi-SD 1B (zh/en)", task="t2i", backend=_PIPELINE, loader="diffusers",
        repo_id="IDEA-CCNL/Taiyi-Stable-Diffusion-1B-Chinese-EN-v0.1", class_name="StableDiffusionPipeline",
        architecture="sd", dtype="float16",
        defaults=GenerationDefaults(steps=50, guidance=7.5, guidance_param="guidance_scale"),
        size=SizeRule(default=512, minimum=256, maximum=1024, multiple=8), license="creativeml-openrail-m",
        languages=("zh", "en"), vram_gb=4, cpu_ok=True, paper="Fengshenbang 1.0 / Taiyi (IDEA-CCNL, arXiv:2209.02970)",
        notes="Stable Diffusion 1.x with a bilingual Taiyi-CLIP (BERT) text encoder; small enough for a CPU "
              "(minutes per 512px image). Weights are .bin (pickle).",
    ),
    ModelSpec(
        key="t2i/flux-schnell", name="FLUX.1-schnell (English reference)", task="t2i", backend=_PIPELINE,
        loader="diffusers", repo_id="black-forest-labs/FLUX.1-schnell", class_name="FluxPipeline", architecture="flux",
        dtype="bfloat16",
        defaults=GenerationDefaults(
            steps=4, max_steps=50, guidance=0.0, supports_negative=False, call_kwargs={"max_sequence_length": 256},
        ),
        size=SizeRule(default=1024, minimum=256, maximum=2048, multiple=16), license="apache-2.0", languages=("en",),
        vram_gb=34, paper="FLUX.1 (Black Forest Labs, 2024), timestep-distilled",
        notes="English-centred reference for contrast. 4 steps, no guidance, no negative prompt.",
    ),
    ModelSpec(
        key="t2i/sdxl", name="SDXL 1.0 (English reference)", task="t2i", backend=_PIPELINE, loader="diffusers",
        repo_id="stabilityai/stable-diffusion-xl-base-1.0", class_name="StableDiffusionXLPipeline", variant="fp16",
        architecture="sdxl", dtype="float16",
        defaults=GenerationDefaults(steps=40, guidance=5.0, guidance_param="guidance_scale"),
        size=SizeRule(default=1024, minimum=512, maximum=2048, multiple=8), license="openrail++", languages=("en",),
        vram_gb=10,
        paper="SDXL: Improving Latent Diffusion Models for High-Resolution Image Synthesis (arXiv:2307.01952)",
        notes="English-centred reference; CLIP encoders do not understand Chinese.",
    ),
    ModelSpec(
        key="t2i/seedream", name="Seedream (Ark API)", task="t2i", backend="backends.tasks.t2i.seedream:SeedreamAPI",
        loader="api", dtype="bfloat16",
        defaults=GenerationDefaults(steps=None, guidance=2.5, guidance_param="guidance_scale"),
        size=SizeRule(default=1024, minimum=512, maximum=2048, multiple=8), license="proprietary API (ByteDance Seed)",
        languages=("zh", "en"), cpu_ok=True,
        paper="Seedream 2.0: A Native Chinese-English Bilingual Image Generation Foundation Model (arXiv:2503.07703)",
        notes="Closed model through the ModelArk / Ark images API; needs ARK_API_KEY. The public API serves "
              "Seedream 3.0 and later (model id from STUDIO_SEEDREAM_MODEL). Steps are not exposed.",
    ),
)
