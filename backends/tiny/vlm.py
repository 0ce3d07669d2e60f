"""Random-weight miniatures of the face tab's vision-language models, each with its processor built in code.

Every builder writes the same classes as the released repository, through ``save_pretrained`` of the model and of
its processor, so ``AutoProcessor.from_pretrained`` and ``AutoModelForImageTextToText.from_pretrained`` load the
folder exactly as they load the hub checkpoint:

* ``vlm_idefics3``: SmolVLM (v1) = ``Idefics3ForConditionalGeneration`` + ``Idefics3Processor``;
* ``vlm_florence2``: ``Florence2ForConditionalGeneration`` (encoder-decoder, DaViT vision tower) +
  ``Florence2Processor``;
* ``vlm_gemma3``: ``Gemma3ForConditionalGeneration`` (SigLIP tower, pooled to ``mm_tokens_per_image``) +
  ``Gemma3Processor``;
* ``vlm_paligemma``: ``PaliGemmaForConditionalGeneration`` + ``PaliGemmaProcessor`` (prefix prompts, no chat).

Tokenizers are byte-level (every UTF-8 byte is a token, so Chinese questions never hit UNK) with the family's special
tokens; image processors are the PIL (``*ImageProcessorPil``) classes, which need no torchvision, at 32x32 pixels.
Qwen2.5-VL / Qwen3-VL and SmolVLM2 have no miniature: their processors carry a video processor that needs
torchvision, which is not installed (it would replace the pinned torch). Each miniature's generation config asks
for at least ``MIN_NEW_TOKENS`` tokens so a random-weight answer is never empty.
"""

from __future__ import annotations

import pathlib
import string
from typing import Any

from backends.tiny.common import FFN_DIM, TEXT_DIM, seeded
from backends.tiny.tokenizers import byte_alphabet

IMAGE_SIDE = 32  # pixels: 4x4 patches of 8 px for the SigLIP / Idefics3 towers, two DaViT stages for Florence-2
MIN_NEW_TOKENS = 4

# Chat templates in the layout of the real checkpoints' templates (user turn with the image, then the prompt for
# the assistant's turn); written here because a miniature has no hub files to inherit them from.
SMOLVLM_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{ line['text'] }}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
GEMMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<start_of_turn>"
    "{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n"
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}<start_of_image>"
    "{% elif item['type'] == 'text' %}{{ item['text'] | trim }}{% endif %}{% endfor %}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def _small_text(vocab_size: int, **extra: Any) -> dict[str, Any]:
    """A two-layer decoder config of the studio's miniature widths."""
    return {"hidden_size": TEXT_DIM, "intermediate_size": FFN_DIM, "num_hidden_layers": 2, "num_attention_heads": 4,
            "num_key_value_heads": 2, "vocab_size": vocab_size, "max_position_embeddings": 512, **extra}


def _siglip_tower(**extra: Any) -> dict[str, Any]:
    return {"hidden_size": TEXT_DIM, "intermediate_size": FFN_DIM, "num_hidden_layers": 2, "num_attention_heads": 4,
            "image_size": IMAGE_SIDE, "patch_size": 8, **extra}


def _save(model: Any, processor: Any, out_dir: pathlib.Path) -> None:
    """Write model (safetensors), processor and tokenizer so the Auto classes read them back."""
    model.generation_config.min_new_tokens = MIN_NEW_TOKENS
    model.save_pretrained(out_dir, safe_serialization=True)
    processor.save_pretrained(out_dir)


def gemma_tokenizer(**extra_special_tokens: str) -> Any:
    """Gemma-style tokenizer (byte fallback, ``▁`` for spaces, no merges) with the chat turn markers."""
    from transformers import GemmaTokenizer

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>",
                *extra_special_tokens.values()]
    pieces = [*specials, *(f"<0x{b:02X}>" for b in range(256)), "▁",
              *(string.ascii_letters + string.digits + string.punctuation)]
    vocab = {piece: i for i, piece in enumerate(dict.fromkeys(pieces))}
    tokenizer = GemmaTokenizer(vocab=vocab, merges=[], extra_special_tokens=extra_special_tokens)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<start_of_turn>", "<end_of_turn>"]})
    return tokenizer


def build_vlm_idefics3(out_dir: pathlib.Path, seed: int) -> None:
    """SmolVLM (HuggingFaceTB/SmolVLM-256M-Instruct layout): Idefics3 with a Llama text model, pixel shuffle 2."""
    from transformers import GPT2Tokenizer, Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    specials = ["<|endoftext|>", "<fake_token_around_image>", "<image>", "<global-img>", "<end_of_utterance>",
                *(f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7))]
    vocab = {char: i for i, char in enumerate(byte_alphabet())}
    vocab.update({s: 256 + i for i, s in enumerate(specials)})
    tokenizer = GPT2Tokenizer(vocab=vocab, merges=[], unk_token="<|endoftext|>", bos_token="<|endoftext|>",
                              eos_token="<end_of_utterance>", pad_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": specials[1:]})
    images = Idefics3ImageProcessorPil(size={"longest_edge": 2 * IMAGE_SIDE}, do_image_splitting=False,
                                       max_image_size={"longest_edge": IMAGE_SIDE})
    # image_seq_len = (image side / patch)^2 / scale_factor^2 = (32 / 8)^2 / 4 = 4 tokens per image.
    processor = Idefics3Processor(image_processor=images, tokenizer=tokenizer, image_seq_len=4,
                                  chat_template=SMOLVLM_TEMPLATE)
    config = Idefics3Config(
        text_config={"model_type": "llama", **_small_text(len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                                                          bos_token_id=tokenizer.bos_token_id,
                                                          eos_token_id=tokenizer.eos_token_id)},
        vision_config=_siglip_tower(), scale_factor=2, vocab_size=len(tokenizer),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
    )
    _save(seeded(seed, Idefics3ForConditionalGeneration, config), processor, out_dir)


def build_vlm_gemma3(out_dir: pathlib.Path, seed: int) -> None:
    """Gemma 3 (google/gemma-3-4b-it layout): SigLIP tower pooled to 4 soft tokens, Gemma 3 text model."""
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3Processor
    from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil

    tokenizer = gemma_tokenizer(boi_token="<start_of_image>", eoi_token="<end_of_image>",
                                image_token="<image_soft_token>")
    images = Gemma3ImageProcessorPil(size={"height": IMAGE_SIDE, "width": IMAGE_SIDE})
    processor = Gemma3Processor(image_processor=images, tokenizer=tokenizer, image_seq_length=4,
                                chat_template=GEMMA3_TEMPLATE)
    ids = tokenizer.convert_tokens_to_ids
    config = Gemma3Config(
        text_config=_small_text(len(tokenizer), head_dim=8, sliding_window=64),
        vision_config=_siglip_tower(), mm_tokens_per_image=4, image_token_index=ids("<image_soft_token>"),
        boi_token_index=ids("<start_of_image>"), eoi_token_index=ids("<end_of_image>"),
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id,
    )
    _save(seeded(seed, Gemma3ForConditionalGeneration, config), processor, out_dir)


def build_vlm_paligemma(out_dir: pathlib.Path, seed: int) -> None:
    """PaliGemma 2 (google/paligemma2-3b-mix-224 layout): SigLIP tower, Gemma 2 text model, 16 image tokens."""
    from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration, PaliGemmaProcessor
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    images = SiglipImageProcessorPil(size={"height": IMAGE_SIDE, "width": IMAGE_SIDE})
    images.image_seq_length = (IMAGE_SIDE // 8) ** 2  # one token per patch, as the processor expects
    processor = PaliGemmaProcessor(image_processor=images, tokenizer=gemma_tokenizer())  # adds <image>, <loc>, <seg>
    tokenizer = processor.tokenizer
    config = PaliGemmaConfig(
        text_config={"model_type": "gemma2", **_small_text(len(tokenizer), head_dim=8)},
        vision_config=_siglip_tower(projection_dim=TEXT_DIM), image_token_index=processor.image_token_id,
        vocab_size=len(tokenizer), projection_dim=TEXT_DIM, hidden_size=TEXT_DIM,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id,
    )
    _save(seeded(seed, PaliGemmaForConditionalGeneration, config), processor, out_dir)


def build_vlm_florence2(out_dir: pathlib.Path, seed: int) -> None:
    """Florence-2 (florence-community/Florence-2-base layout): two DaViT stages (stride 8), a BART text model and
    the 1000 ``<loc_i>`` tokens of its boxes."""
    from transformers import BartTokenizer, Florence2Config, Florence2ForConditionalGeneration, Florence2Processor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    vocab = {s: i for i, s in enumerate(specials)}
    for char in byte_alphabet():
        vocab.setdefault(char, len(vocab))
    tokenizer = BartTokenizer(vocab=vocab, merges=[], extra_special_tokens={"image_token": "<image>"})
    tokenizer.add_tokens([f"<loc_{i}>" for i in range(1000)])
    images = CLIPImageProcessorPil(size={"height": IMAGE_SIDE, "width": IMAGE_SIDE}, do_center_crop=False,
                                   crop_size={"height": IMAGE_SIDE, "width": IMAGE_SIDE})
    images.image_seq_length = (IMAGE_SIDE // 8) ** 2 + 1  # 4x4 patches after two stages, plus the pooled token
    processor = Florence2Processor(image_processor=images, tokenizer=tokenizer)
    config = Florence2Config(
        text_config={"d_model": TEXT_DIM, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 4,
                     "decoder_attention_heads": 4, "encoder_ffn_dim": FFN_DIM, "decoder_ffn_dim": FFN_DIM,
                     "vocab_size": len(tokenizer), "max_position_embeddings": 256},
        vision_config={"depths": (1, 1), "patch_size": (7, 3), "patch_stride": (4, 2), "patch_padding": (3, 1),
                       "patch_prenorm": (False, True), "embed_dim": (16, TEXT_DIM), "num_heads": (2, 4),
                       "num_groups": (2, 4), "window_size": 4, "projection_dim": TEXT_DIM,
                       "max_position_embeddings": 16, "max_temporal_embeddings": 4},
        image_token_id=tokenizer.image_token_id,
    )
    _save(seeded(seed, Florence2ForConditionalGeneration, config), processor, out_dir)
