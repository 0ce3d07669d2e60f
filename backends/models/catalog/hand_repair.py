"""Hand repair (MGHanD direction): the hand detector, and the inpainting models both repair methods run on.

Data only: one ``ModelSpec`` per model, with the facts that matter to run it well. Facts come from the model
cards and the diffusers docs. Keys are ``"<task>/<name>"`` and are the same in the ``real`` and ``tiny`` profiles.
"""

from __future__ import annotations

from backends.models.spec import GenerationDefaults, ModelSpec, SizeRule

_REPAIR = "backends.tasks.hand_repair.repair:HandRepair"

ORDER = 20  # where the UI lists these models
SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="hand/mediapipe", name="MediaPipe Hands", task="hand",
        backend="backends.tasks.hand_repair.detect:HandDetector", loader="builtin", dtype="float32",
        license="apache-2.0", vram_gb=0.0, cpu_ok=True,
        paper="MediaPipe Hands: On-device Real-time Hand Tracking (arXiv:2006.10214)",
        notes="Bundled with mediapipe 0.10.21 (offline). Its handedness score is the hand confidence MGHanD reports.",
    ),
    ModelSpec(
        key="inpaint/sd15", name="SD 1.5 Inpainting", task="inpaint", backend=_REPAIR, loader="diffusers",
        repo_id="stable-diffusion-v1-5/stable-diffusion-inpainting", class_name="StableDiffusionInpaintPipeline",
        architecture="sd_inpaint", dtype="float16",
        defaults=GenerationDefaults(steps=30, guidance=7.5, guidance_param="guidance_scale"),
        size=SizeRule(default=512, minimum=256, maximum=1024, multiple=8), license="creativeml-openrail-m",
        languages=("en",), vram_gb=4, cpu_ok=True,
        paper="High-Resolution Image Synthesis with Latent Diffusion Models (arXiv:2112.10752), inpainting model",
        notes="Runs both repair methods: inpaint, and mghand's guided loop (9-channel UNet).",
    ),
    ModelSpec(
        key="inpaint/sdxl", name="SDXL 1.0 Inpainting", task="inpaint", backend=_REPAIR, loader="diffusers",
        repo_id="diffusers/stable-diffusion-xl-1.0-inpainting-0.1", class_name="StableDiffusionXLInpaintPipeline",
        variant="fp16", architecture="sdxl_inpaint", dtype="float16",
        defaults=GenerationDefaults(steps=30, guidance=8.0, guidance_param="guidance_scale"),
        size=SizeRule(default=1024, minimum=512, maximum=2048, multiple=8), license="openrail++", languages=("en",),
        vram_gb=10, paper="SDXL (arXiv:2307.01952), inpainting fine-tune by the diffusers team",
        notes="Repairs with method inpaint (through the pipeline's own call).",
    ),
    ModelSpec(
        key="inpaint/flux-fill", name="FLUX.1 Fill [dev]", task="inpaint", backend=_REPAIR, loader="diffusers",
        repo_id="black-forest-labs/FLUX.1-Fill-dev", class_name="FluxFillPipeline", architecture="flux_fill",
        dtype="bfloat16",
        defaults=GenerationDefaults(steps=50, guidance=30.0, supports_negative=False, guidance_param="guidance_scale"),
        size=SizeRule(default=1024, minimum=256, maximum=2048, multiple=16),
        license="flux-1-dev-non-commercial (gated)", languages=("en",), vram_gb=34,
        paper="FLUX.1 Fill (Black Forest Labs, 2024)",
        notes="Gated on the hub: accept the license and set HF_TOKEN before make fetch. Method inpaint only; "
              "strength is not used (FLUX Fill always denoises fully).",
    ),
)
