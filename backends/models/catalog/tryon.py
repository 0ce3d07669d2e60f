"""Virtual try-on (MF-VITON direction): mask-free against mask-based, the automatic mask, the data engine, scores.

Data only: one ``ModelSpec`` per model, with the facts that matter to run it well. Facts come from the authors' code
(Zheng-Chong/CatVTON at 515c729, Kunbyte-AI/OmniTry), the model cards and the papers. MF-VITON (arXiv:2503.08650)
released no checkpoints; CatVTON-MaskFree is the closest open mask-free model and CatVTON its mask-based twin (same
VAE, scheduler, guidance and loop), so the side-by-side is the paper's comparison.
"""

from __future__ import annotations

from types import MappingProxyType

from backends.models.spec import BuiltinDefaults, CodeDefaults, ModelSpec, SizeRule

_CATVTON_LICENSE = "cc-by-nc-sa-4.0 (CatVTON weights: non-commercial, share-alike)"
_CATVTON_PAPER = "CatVTON: Concatenation Is All You Need for Virtual Try-On with Diffusion Models (arXiv:2407.15886)"
# CatVTON's recipe (app.py / app_p2p.py): 1024x768, 50 DDIM steps with eta 1, guidance 2.5 against a zero garment.
_RECIPE = MappingProxyType({"steps": 50, "guidance": 2.5, "eta": 1.0, "width": 768, "height": 1024,
                            "vae": "stabilityai/sd-vae-ft-mse", "vaes": ("stabilityai/sd-vae-ft-ema",)})
_SIZE = SizeRule(default=768, minimum=256, maximum=2048, multiple=8, max_pixels=2048 * 1536)

ORDER = 40  # where the UI lists these models
SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="tryon/automask", name="Automatic agnostic mask (mediapipe)", task="tryon",
        backend="backends.tasks.tryon.masking:AutoMasker", loader="builtin", dtype="float32",
        license="apache-2.0 (studio code; mediapipe models bundled in the wheel)", cpu_ok=True,
        paper="IDM-VTON (arXiv:2403.05139) agnostic-mask geometry on MediaPipe Pose (arXiv:2006.10204)",
        notes="Pose (model_complexity=1, with its segmentation mask), selfie segmentation and the face mesh: the "
              "garment region from shoulder, hip and knee landmarks, dilated and hole-filled, inside the person; "
              "face, hands and what the category does not cover protected. Cannot tell garment from skin (sleeve, "
              "trouser and dress length are guessed), hair, or accessories.",
    ),
    ModelSpec(
        key="tryon/catvton-maskfree", name="CatVTON-MaskFree", task="tryon",
        backend="backends.tasks.tryon.catvton:CatVTONMaskFree", loader="code", repo_id="zhengchong/CatVTON-MaskFree",
        class_name="UNet2DConditionModel", subfolder="mix-48k-1024/attention", architecture="catvton_maskfree",
        dtype="bfloat16", defaults=CodeDefaults(filename="model.safetensors", options={
            **_RECIPE, "base": "timbrooks/instruct-pix2pix", "mask_free": True}),
        size=_SIZE, license=f"{_CATVTON_LICENSE}; gated on the hub; base InstructPix2Pix: mit", vram_gb=8,
        paper=f"{_CATVTON_PAPER}; mask-free direction: MF-VITON (arXiv:2503.08650)",
        notes="Mask-free: InstructPix2Pix's 8-channel UNet reads the full person latent and the garment latent side "
              "by side (width concat); no text encoder (cross-attention returns its input); the attention-only "
              "checkpoint (attn1 modules as one flat list) replaces the self-attention weights. Gated: accept the "
              "license on the hub and set HF_TOKEN. make fetch gets the attention weights; the base UNet "
              "(timbrooks/instruct-pix2pix) and the VAE (make fetch MODEL=tok/sd-vae) download on first use.",
    ),
    ModelSpec(
        key="tryon/catvton", name="CatVTON (mask-based)", task="tryon",
        backend="backends.tasks.tryon.catvton:CatVTON", loader="code", repo_id="zhengchong/CatVTON",
        class_name="UNet2DConditionModel", subfolder="mix-48k-1024/attention", architecture="catvton",
        dtype="bfloat16", defaults=CodeDefaults(filename="model.safetensors", options={
            **_RECIPE, "base": "stable-diffusion-v1-5/stable-diffusion-inpainting", "mask_free": False}),
        size=_SIZE, license=f"{_CATVTON_LICENSE}; base SD inpainting: creativeml-openrail-m", vram_gb=8,
        paper=_CATVTON_PAPER,
        notes="Mask-based: SD-1.5 inpainting's 9-channel UNet reads the masked person over the garment (height "
              "concat) and the mask; the mask is the automatic mediapipe one (CatVTON's own AutoMasker needs "
              "DensePose and SCHP) or the user's edit. CatVTON's code loads the same base weights from the "
              "booksforcharlie mirror; make fetch MODEL=inpaint/sd15 fetches this one.",
    ),
    ModelSpec(
        key="tryon/data-engine", name="MF-VITON data engine (CatVTON triples)", task="tryon",
        backend="backends.tasks.tryon.engine:DataEngine", loader="code", repo_id="zhengchong/CatVTON",
        class_name="UNet2DConditionModel", subfolder="mix-48k-1024/attention", architecture="catvton",
        dtype="bfloat16", defaults=CodeDefaults(filename="model.safetensors", options={
            **_RECIPE, "base": "stable-diffusion-v1-5/stable-diffusion-inpainting", "mask_free": False}),
        size=_SIZE, license=_CATVTON_LICENSE, vram_gb=8,
        paper="MF-VITON: High-Fidelity Mask-Free Virtual Try-On with Minimal Input (arXiv:2503.08650), stage 1",
        notes="The first half of MF-VITON's pipeline: the mask-based model dresses persons cut out by segmentation "
              "and composited onto new backgrounds, written as a dataset with a manifest. Fine-tuning the mask-free "
              "model on it (and feeding its outputs back as inputs) is out of scope. Outputs inherit CatVTON's "
              "non-commercial license.",
    ),
    ModelSpec(
        key="tryon/omnitry", name="OmniTry (FLUX.1 Fill, mask-free)", task="tryon",
        backend="backends.tasks.tryon.omnitry:OmniTry", loader="code", repo_id="Kunbyte/OmniTry",
        architecture="omnitry", dtype="bfloat16",
        defaults=CodeDefaults(filename="omnitry_v1_unified.safetensors", options={
            "base": "black-forest-labs/FLUX.1-Fill-dev", "steps": 20, "guidance": 30.0, "max_area": 1024 * 1024,
            "adapters": ("vtryon_lora", "garment_lora"),
            "width": 768, "height": 1024,
            "prompts": MappingProxyType({"upper": "replacing the top cloth", "lower": "replacing the bottom cloth",
                                         "overall": "replacing the dress"})}),
        size=SizeRule(default=768, minimum=256, maximum=2048, multiple=16, max_pixels=1024 * 1024),
        license="code apache-2.0; LoRA license not stated (unverified); base FLUX.1 [dev] non-commercial (gated)",
        vram_gb=28, paper="OmniTry: Virtual Try-On Anything without Masks (arXiv:2508.13632)",
        notes="GPU tier. Built from diffusers parts: FluxFillPipeline with an all-zero mask, a batch of two rows "
              "(person, garment padded on white), per-row RoPE ids (row index, width offset) and a shared-attention "
              "processor (the person row also attends to the garment row's image tokens), and OmniTry's two LoRA "
              "adapters routed per row with peft's mixed-batch adapter_names. Unverified: the LoRA file's key names "
              "(peft style, adapter in the key, as OmniTry's strict=False loading implies) and the lower-body and "
              "dress prompts; a file that does not match is refused with the keys it lacks. Needs >= 28 GB (bf16).",
    ),
    ModelSpec(
        key="tryon/scores", name="Try-on scores (SSIM, PSNR, preservation, FID/KID, LPIPS)", task="tryon",
        backend="backends.tasks.tryon.evaluate:TryOnScorer", loader="builtin", dtype="float32",
        defaults=BuiltinDefaults(options={"kid_subset": 100}), license="apache-2.0 (studio code)", cpu_ok=True,
        paper="SSIM (Wang et al. 2004); FID (arXiv:1706.08500); KID (arXiv:1801.01401); LPIPS (arXiv:1801.03924)",
        notes="SSIM and PSNR (scikit-image) against the ground truth and, outside the garment region, against the "
              "input person (preservation: a mask-free model must not repaint the background). FID / KID from a "
              "pluggable feature extractor and LPIPS when weights are given; otherwise reported unavailable.",
    ),
)
