"""Face Q&A with a vision-language model of the registry (SmolVLM, Florence-2, Gemma 3, PaliGemma 2; Qwen-VL and
SmolVLM2 where torchvision is installed), loaded lazily through ``AutoModelForImageTextToText`` and
``AutoProcessor``.

How a question is put depends on the family, read from the loaded config: chat models get the processor's chat
template (a user turn holding the image and the question); PaliGemma takes its plain ``answer <lang>`` prefix;
Florence-2 has no chat or VQA training, so free questions get its detailed-caption task (labelled as a
description) and yes/no checks get the question as its prompt (unreliable, and labelled so in the catalog).
"""

from __future__ import annotations

import math
import time
from typing import Any

from PIL import Image

from backends.core.imaging import load_image
from backends.core.recipe import make_recipe
from backends.core.run import ProgressFn, RunControl
from backends.core.text import detect_language
from backends.models import weights
from backends.models.backend import PretrainedBackend
from backends.vision.vqa import YESNO_SUFFIX, VQAAnswer, VQARequest, VQAResult, check_vqa_request

# First tokens of the answers counted as yes / no in ``yesno`` mode (VQAScore reads P("Yes") the same way).
YES_WORDS = ("Yes", "yes", " Yes", " yes", "是")
NO_WORDS = ("No", "no", " No", " no", "否", "不")
FLORENCE_CAPTION = "<MORE_DETAILED_CAPTION>"


class FaceVLM(PretrainedBackend):
    """A vision-language model answering questions about a face crop (see ``PretrainedBackend`` for loading)."""

    processor: Any = None

    def load(self, report: ProgressFn | None = None) -> None:
        """The model through ``load_pretrained`` and its processor from the same place."""
        super().load(report)
        self.processor = weights.load_processor(self.spec, self.settings)

    def unload(self) -> None:
        """Drop the model and its processor."""
        super().unload()
        self.processor = None

    def check_inputs(self, request: VQARequest) -> None:
        """Validate the questions, mode and answer length (see ``check_vqa_request``)."""
        check_vqa_request(request)

    def __call__(self, request: VQARequest, control: RunControl | None = None) -> VQAResult:
        """Answer every question of ``request`` about its image, in order.

        Raises:
            InvalidInput: a bad question, mode or image.
            Cancelled: Stop was pressed (checked between questions).
        """
        control = control or RunControl()
        # 1. validate
        self.check_inputs(request)
        image = load_image(request.image)
        defaults = self.spec.defaults
        max_new = int(request.max_new_tokens or defaults.max_new_tokens)
        family = self.model.config.model_type
        started = time.perf_counter()

        # 2. answer each question: inputs (input_ids (1, T) + pixel_values) -> generate -> decode the new tokens
        answers = []
        for index, question in enumerate(request.questions):
            control.raise_if_stopped()
            control.report(index / len(request.questions), f"{self.spec.name}: question {index + 1}")
            answers.append(self._answer(image, question.strip(), request.mode, max_new, family))
        control.report(1.0, f"{self.spec.name}: answered")

        # 3. recipe
        recipe = make_recipe(
            self.provenance(), seed=0, width=image.width, height=image.height, prompt=" | ".join(request.questions),
            load_seconds=self.take_load_seconds(), run_seconds=time.perf_counter() - started,
            extra={"mode": request.mode, "max_new_tokens": max_new, "do_sample": defaults.do_sample,
                   "family": family, **dict(defaults.call_kwargs)},
        )
        return VQAResult(answers=answers, recipe=recipe)

    # ----------------------------------------------------------------------------------------------------------------
    def _answer(self, image: Image.Image, question: str, mode: str, max_new: int, family: str) -> VQAAnswer:
        import torch

        language = "zh" if detect_language(question) == "zh" else "en"
        asked = question + YESNO_SUFFIX[language] if mode == "yesno" else question
        inputs, how = self._inputs(image, asked, mode, family, language)
        inputs = inputs.to(self.device)
        if "pixel_values" in inputs and inputs["pixel_values"].is_floating_point():
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        defaults = self.spec.defaults
        sampling = {"temperature": defaults.temperature, "top_p": defaults.top_p} if defaults.do_sample else {}
        with self.computing():
            out = self.model.generate(**inputs, max_new_tokens=max_new, do_sample=defaults.do_sample,
                                      output_logits=mode == "yesno", return_dict_in_generate=True,
                                      **sampling, **dict(defaults.call_kwargs))
        # Decoder-only models return the prompt too; encoder-decoders (Florence-2) only the answer.
        prompt_length = 0 if self.model.config.is_encoder_decoder else inputs["input_ids"].shape[1]
        text = self.processor.batch_decode(out.sequences[:, prompt_length:], skip_special_tokens=True)[0].strip()
        probability = None
        if mode == "yesno":
            probability = self._yes_probability(torch.softmax(out.logits[0][0].float(), dim=-1))
        return VQAAnswer(question=question, text=text, yes_probability=probability, prompt=how)

    def _inputs(self, image: Image.Image, question: str, mode: str, family: str, language: str) -> tuple[Any, str]:
        """The processor's tensors for one question, and how it was put."""
        if family == "florence2":
            prompt, how = (question, "task") if mode == "yesno" else (FLORENCE_CAPTION, "caption")
            return self.processor(text=prompt, images=image, return_tensors="pt"), how
        if family == "paligemma":
            prompt = f"{self.processor.image_token}answer {language} {question}"  # one image token per image
            inputs = self.processor(text=prompt, images=image, return_tensors="pt")
            inputs.pop("labels", None)  # only for training
            return inputs, "prefix"
        messages = [{"role": "user", "content": [{"type": "image", "image": image},
                                                 {"type": "text", "text": question}]}]
        inputs = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                    return_dict=True, return_tensors="pt")
        return inputs, "chat"

    def _yes_probability(self, probs: Any) -> float:
        """P(yes) / (P(yes) + P(no)) over the first answer token's distribution ``probs`` (vocab,)."""
        tokenizer = getattr(self.processor, "tokenizer", self.processor)

        def first_ids(words: tuple[str, ...]) -> set[int]:
            ids = (tokenizer.encode(word, add_special_tokens=False) for word in words)
            return {i[0] for i in ids if i and i[0] < probs.shape[0]}

        yes, no = first_ids(YES_WORDS), first_ids(NO_WORDS)
        yes, no = yes - no, no - yes
        p_yes, p_no = float(probs[list(yes)].sum()) if yes else 0.0, float(probs[list(no)].sum()) if no else 0.0
        total = p_yes + p_no
        return 0.5 if total <= 0 or not math.isfinite(total) else p_yes / total
