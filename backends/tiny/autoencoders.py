"""Random-weight miniatures of the image autoencoders the tokenizer visualizer compares (``tiny`` profile).

These are single models, not pipelines: each is written with the model's own ``save_pretrained(out_dir)`` (a
``config.json`` plus ``diffusion_pytorch_model.safetensors``) and loads with ``<Class>.from_pretrained(out_dir)``,
the class named in ``backends.tiny.ARCHITECTURES[arch].class_name``. Widths are tiny; what the studio measures
and displays depends only on the geometry, which is the real one:

============ =============== =============================== ====== ========= ====================
arch         class           real repo                       factor latent ch scaling / shift
============ =============== =============================== ====== ========= ====================
vae_sd       AutoencoderKL   stabilityai/sd-vae-ft-mse       8      4         0.18215
vae_sdxl     AutoencoderKL   madebyollin/sdxl-vae-fp16-fix   8      4         0.13025
vae_flux     AutoencoderKL   FLUX.1-schnell / vae (no quant) 8      16        0.3611 / 0.1159
taesd        AutoencoderTiny madebyollin/taesd               8      4         1.0 (magnitude 3)
vqgan        VQModel         kandinsky-2-2-decoder / movq    8      4 (VQ)    16384 codes, dim 4
vae_mar16    AutoencoderKL   xwen99/mar-vae-kl16 (MAR KL-16) 16     16        0.2325 (MAR's scale)
dc_ae_f32c32 AutoencoderDC   dc-ae-f32c32-sana-1.0-diffusers 32     32        0.41407
============ =============== =============================== ====== ========= ====================

:func:`backends.tiny.build_miniature` calls ``build_<arch>(out_dir, seed)`` here; torch and diffusers are
imported only inside the builders.
"""

from __future__ import annotations

import pathlib

from backends.tiny.common import autoencoder_kl, save_model, seeded


def build_vae_sd(out_dir: pathlib.Path, seed: int) -> None:
    """stabilityai/sd-vae-ft-mse: SD-1.x KL-f8 VAE (4 blocks of 128/256/512/512 in the real one), 4 channels.

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    save_model(seeded(seed, autoencoder_kl, latent_channels=4, scaling_factor=0.18215, sample_size=256), out_dir)


def build_vae_sdxl(out_dir: pathlib.Path, seed: int) -> None:
    """madebyollin/sdxl-vae-fp16-fix: the SDXL VAE finetuned to stay finite in fp16, hence ``force_upcast=False``.

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    vae = seeded(
        seed, autoencoder_kl, latent_channels=4, scaling_factor=0.13025, sample_size=512, force_upcast=False
    )
    save_model(vae, out_dir)


def build_vae_flux(out_dir: pathlib.Path, seed: int) -> None:
    """FLUX.1-schnell ``vae``: 16 latent channels, no quant / post-quant 1x1 convs, latents shifted then scaled.

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    vae = seeded(
        seed, autoencoder_kl, latent_channels=16, scaling_factor=0.3611, shift_factor=0.1159, sample_size=1024,
        use_quant_conv=False, use_post_quant_conv=False, force_upcast=True,
    )
    save_model(vae, out_dir)


def build_taesd(out_dir: pathlib.Path, seed: int) -> None:
    """madebyollin/taesd: the real block layout (1/3/3/3 encoder, 3/3/3/1 decoder blocks, f8), 16 wide (real 64).

    At width 16 it has 0.16M parameters (real 2.4M) and a 512x512 round trip takes ~0.2 s on 2 CPU cores.

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    from diffusers import AutoencoderTiny

    taesd = seeded(
        seed, AutoencoderTiny, encoder_block_out_channels=(16,) * 4, decoder_block_out_channels=(16,) * 4,
        num_encoder_blocks=(1, 3, 3, 3), num_decoder_blocks=(3, 3, 3, 1), latent_channels=4, act_fn="relu",
        upsampling_scaling_factor=2, latent_magnitude=3, latent_shift=0.5, scaling_factor=1.0, force_upcast=False,
    )
    save_model(taesd, out_dir)


def build_vqgan(out_dir: pathlib.Path, seed: int) -> None:
    """kandinsky-community/kandinsky-2-2-decoder ``movq``: MoVQ, a VQ-GAN whose decoder norms are spatially
    conditioned on the quantised latents (``norm_type="spatial"``).

    Real layout kept: 4 blocks (3 downsamples, f8), attention in the deepest encoder / first decoder block,
    4 latent channels, a real-sized codebook of 16384 codes of dimension 4 (64K parameters; nearest-code search
    costs ~0.17 s for the 4096 tokens of a 512x512 image). Width 32 (real 128-512) is the floor: diffusers'
    ``SpatialNorm`` hard-codes ``GroupNorm(32)``.

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    import torch
    from diffusers import VQModel

    movq = seeded(
        seed, VQModel, in_channels=3, out_channels=3, block_out_channels=(32, 32, 32, 32), layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 3 + ("AttnDownEncoderBlock2D",),
        up_block_types=("AttnUpDecoderBlock2D",) + ("UpDecoderBlock2D",) * 3, latent_channels=4, vq_embed_dim=4,
        num_vq_embeddings=16384, norm_num_groups=32, norm_type="spatial", sample_size=32, scaling_factor=0.18215,
    )
    # diffusers initialises the codebook uniformly in +-1/16384 (a training start), far inside the encoder's
    # output range (std ~0.2), so every token would snap to the same few dozen extreme codes and the token map the
    # visualizer shows would be nearly constant. Draw the codes from a Gaussian fitted to the encoder's output on
    # seeded noise images instead, as trained codebooks cover the latent distribution.
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        probe = movq.encode(torch.rand(2, 3, 64, 64, generator=generator) * 2 - 1).latents  # (2, 4, 8, 8)
        mean, std = probe.mean(dim=(0, 2, 3)), probe.std(dim=(0, 2, 3))
        codebook = movq.quantize.embedding.weight  # (16384, 4)
        codebook.copy_(torch.randn(codebook.shape, generator=generator) * std + mean)
    save_model(movq, out_dir)


def build_vae_mar16(out_dir: pathlib.Path, seed: int) -> None:
    """xwen99/mar-vae-kl16: MAR's KL-16 VAE in diffusers form, which Semanticist decodes through; 5 blocks (f16),
    16 latent channels, scaled by MAR's 0.2325 (the real repo's ``config.json`` decides in the real profile).

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    from diffusers import AutoencoderKL

    vae = seeded(
        seed, AutoencoderKL, in_channels=3, out_channels=3, latent_channels=16,
        down_block_types=("DownEncoderBlock2D",) * 5, up_block_types=("UpDecoderBlock2D",) * 5,
        block_out_channels=(8,) * 5, layers_per_block=1, norm_num_groups=4, scaling_factor=0.2325, sample_size=256,
    )
    save_model(vae, out_dir)


def build_dc_ae_f32c32(out_dir: pathlib.Path, seed: int) -> None:
    """mit-han-lab/dc-ae-f32c32-sana-1.0-diffusers: DC-AE, 6 stages (f32) of residual blocks then EfficientViT
    blocks with multi-scale (5) linear attention, 32 latent channels, scaled by 0.41407; widths 8-32 (real 128-1024),
    one layer per stage (real 2-3).

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    from diffusers import AutoencoderDC

    stages = ("ResBlock",) * 3 + ("EfficientViTBlock",) * 3
    scales = ((), (), (), (5,), (5,), (5,))
    dc_ae = seeded(
        seed, AutoencoderDC, in_channels=3, latent_channels=32, attention_head_dim=8, encoder_block_types=stages,
        decoder_block_types=stages, encoder_block_out_channels=(8, 8, 16, 16, 32, 32),
        decoder_block_out_channels=(8, 8, 16, 16, 32, 32), encoder_layers_per_block=(1,) * 6,
        decoder_layers_per_block=(1,) * 6, encoder_qkv_multiscales=scales, decoder_qkv_multiscales=scales,
        downsample_block_type="conv", upsample_block_type="interpolate", decoder_norm_types="rms_norm",
        decoder_act_fns="silu", scaling_factor=0.41407,
    )
    save_model(dc_ae, out_dir)
