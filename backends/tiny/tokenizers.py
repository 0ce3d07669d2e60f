"""In-memory tokenizers for the random-weight miniatures, built from word lists instead of downloaded files.

Byte-level BPE for CLIP / Qwen2 / GLM (every UTF-8 byte is a token, so Chinese never maps to UNK), WordPiece /
Unigram vocabularies holding the CJK block for BERT / T5, and a SentencePiece model trained on the fly with
``byte_fallback`` for ChatGLM (the file-free ByT5 tokenizer needs no builder). Nothing is downloaded, the Hugging
Face cache is never read, and transformers / tokenizers / sentencepiece are only imported inside the functions.
"""

from __future__ import annotations

import io
import string
from typing import Any

# English words that become whole tokens in the BERT, T5, Qwen2 and GLM vocabularies (space-separated).
_ENGLISH_WORDS = (
    "a an the of and in on at with to is for by from this that it its photo picture painting poster image art "
    "cat dog bird fish horse flower tree mountain river sea lake sky sun moon star cloud city street house "
    "night day sunset red green blue yellow black white big small old new beautiful cute girl boy man woman "
    "text sign hello world style portrait landscape detailed realistic"
)
# Words of the Qwen-Image / HunyuanImage system prompt ("Describe the image by detailing the color, ...").
_QWEN_TEMPLATE_WORDS = (
    "the image by detailing color shape size texture quantity text spatial relationships of objects and background"
)

# Frequent Chinese characters (plus words used in the studio's example prompts) for the ChatGLM
# SentencePiece model; every other character still encodes through byte fallback.
_COMMON_HANZI = (
    "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过"
    "家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从猫狗鸟鱼马花树山"
    "水河海湖云月星风雨雪画照片海报写着你好世界城市夜晚黄昏红绿蓝黑白美丽可爱女孩男孩老人风景肖像写实张幅"
)


def byte_alphabet() -> list[str]:
    """Return the 256 printable stand-ins for the bytes 0..255 used by byte-level BPE (GPT-2 scheme)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = {b: chr(b) for b in printable}
    shifted = 256
    for b in range(256):
        if b not in chars:
            chars[b] = chr(shifted)
            shifted += 1
    return [chars[b] for b in range(256)]


def _cjk_chars() -> list[str]:
    """CJK Unified Ideographs U+4E00..U+9FA5 (the block BERT-Chinese vocabularies are built from)."""
    return [chr(c) for c in range(0x4E00, 0x9FA6)]


def _punctuation() -> list[str]:
    """ASCII punctuation and digits plus CJK / full-width punctuation (e.g. ，。“”！), so none hit UNK."""
    cjk_punct = [chr(c) for c in range(0x3001, 0x3020)] + [chr(c) for c in range(0xFF01, 0xFF5F)]
    return [*string.punctuation, *string.digits, "“", "”", "‘", "’", "…", "—", "·", *cjk_punct]


def clip_tokenizer(pad_token: str = "<|endoftext|>") -> Any:
    """CLIP tokenizer over a pure byte-level vocabulary (every byte, with and without ``</w>``).

    Args:
        pad_token: The padding token; SDXL's second tokenizer pads with ``"!"`` instead of the end token.

    Returns:
        A ``transformers.CLIPTokenizer`` with ``model_max_length`` 77.
    """
    from transformers import CLIPTokenizer

    alphabet = byte_alphabet()
    pieces = [*alphabet, *(c + "</w>" for c in alphabet), "<|startoftext|>", "<|endoftext|>"]
    vocab = {p: i for i, p in enumerate(pieces)}
    return CLIPTokenizer(vocab=vocab, merges=[], pad_token=pad_token, model_max_length=77)


def bert_tokenizer(model_max_length: int) -> Any:
    """Chinese-BERT-style WordPiece tokenizer: English word pieces plus the whole CJK block.

    Args:
        model_max_length: The tokenizer's maximum sequence length.

    Returns:
        A ``transformers.BertTokenizer``.
    """
    from transformers import BertTokenizer

    letters = string.ascii_lowercase
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *(f"##{c}" for c in letters + string.digits)]
    pieces += [*_punctuation(), *_ENGLISH_WORDS.split(), *_cjk_chars()]
    vocab = {p: i for i, p in enumerate(dict.fromkeys(pieces))}
    return BertTokenizer(vocab=vocab, model_max_length=model_max_length)


def t5_tokenizer() -> Any:
    """T5 / mT5-style Unigram tokenizer: ASCII, English words and the CJK block (no ``<extra_id_*>``)."""
    from transformers import T5Tokenizer

    # Scores are log-probabilities: prefer whole words, then single characters.
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(c, -4.0) for c in string.ascii_letters + "".join(_punctuation())]
    pieces += [("▁" + w, -1.0) for w in _ENGLISH_WORDS.split()]
    pieces += [(c, -5.0) for c in _cjk_chars()]
    return T5Tokenizer(vocab=list(dict(pieces).items()), extra_ids=0)


def _byte_level_bpe(specials: list[str], bare_words: tuple[str, ...] = ()) -> tuple[dict[str, int], list[Any]]:
    """Byte-level BPE vocabulary (256 bytes, then ``specials``) plus merges that form whole English words.

    Words get merge chains (``Ġ t`` -> ``Ġt``, ``Ġt h`` -> ``Ġth`` ...) so " the" is one token as in the real
    Qwen2 / GLM-4 vocabularies. Chains of space-prefixed words come first and cannot collide (``Ġ`` only
    starts a pre-token); the few ``bare_words`` (no leading space) are ranked last so they never split them.
    """
    alphabet = byte_alphabet()
    vocab = {c: i for i, c in enumerate(alphabet)}
    vocab.update({s: 256 + i for i, s in enumerate(specials)})
    merges: dict[tuple[str, str], None] = {}  # insertion-ordered set: rank = position
    spaced = [alphabet[ord(" ")] + w for w in f"{_ENGLISH_WORDS} {_QWEN_TEMPLATE_WORDS}".split()]
    for word in spaced + list(bare_words):
        piece = word[0]
        for char in word[1:]:
            merges[(piece, char)] = None
            piece += char
            vocab.setdefault(piece, len(vocab))
    return vocab, list(merges)


def qwen2_tokenizer() -> Any:
    """Qwen2 byte-level BPE tokenizer with the chat / vision special tokens the pipelines' templates use.

    Its merges reproduce the real token count of the Qwen-Image / HunyuanImage system prompt (34 tokens),
    so the pipelines' ``prompt_template_encode_start_idx = 34`` drops exactly the template, as with Qwen.
    """
    from transformers import Qwen2Tokenizer

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>"]
    specials += ["<|image_pad|>", "<|video_pad|>"]
    vocab, merges = _byte_level_bpe(specials, bare_words=("system", "user", "assistant", "Describe"))
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges)
    # Registered as special so the literal "<|im_start|>" in the prompt template stays one token.
    tokenizer.add_special_tokens({"additional_special_tokens": specials[1:]})
    return tokenizer


def glm4_tokenizer() -> Any:
    """GLM-4 style fast tokenizer (byte-level BPE) that prepends ``[gMASK]<sop>`` like the real one."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "[gMASK]", "<sop>"]
    vocab, merges = _byte_level_bpe(specials)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.TemplateProcessing(
        single="[gMASK] <sop> $A", pair="[gMASK] <sop> $A $B", special_tokens=[(s, vocab[s]) for s in specials[1:]]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<|endoftext|>", eos_token="<|endoftext|>", padding_side="left",
        additional_special_tokens=specials[1:],
    )


def chatglm_sentencepiece() -> bytes:
    """Train a small SentencePiece BPE model in memory; ``byte_fallback`` covers any unseen character.

    Returns:
        The serialized model (the content of a ``tokenizer.model`` file for ``ChatGLMTokenizer``).
    """
    import sentencepiece

    corpus = [_ENGLISH_WORDS, string.ascii_letters + string.digits, _COMMON_HANZI, "".join(_punctuation())]
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus * 3), model_writer=model, vocab_size=600, hard_vocab_limit=False,
        model_type="bpe", byte_fallback=True, character_coverage=1.0, num_threads=1, minloglevel=2,
    )
    return model.getvalue()
