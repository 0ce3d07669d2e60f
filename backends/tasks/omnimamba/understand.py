"""OmniMamba understanding: image + question -> answer, one more Q&A engine of the face tab (``VQARequest`` ->
``VQAResult``).

The authors' ``scripts/inference_mmu.py``, step by step: the question in the ``phi1.5`` conversation template
(``"USER: {question} ASSISTANT:"``), the sequence ``<|mmu|> <|soi|> [729 projected DINOv2 + SigLIP patches] <|eoi|>
<|sot|> [question]`` plus ``mmu_pos_embed``, the understanding LoRA, greedy decoding of ``lm_head`` tokens until
``<|endoftext|>``. Each decoded token enters at the next position of ``mmu_pos_embed`` (1500 rows: the answer stops
there at the latest).
"""

from __future__ import annotations

import math
import time
from typing import Any

from backends.core.errors import InvalidInput
from backends.core.imaging import load_image
from backends.core.recipe import make_recipe
from backends.core.run import RunControl
from backends.tasks.omnimamba import model as lm_ops
from backends.tasks.omnimamba import vision
from backends.tasks.omnimamba.backend import OmniMambaBackend
from backends.tasks.omnimamba.sampling import sample
from backends.tasks.omnimamba.types import language_note
from backends.vision.vqa import YESNO_SUFFIX, VQAAnswer, VQARequest, VQAResult, check_vqa_request

YES_WORDS = ("Yes", "yes", " Yes", " yes")
NO_WORDS = ("No", "no", " No", " no")


def conversation(question: str) -> str:
    """The authors' ``phi1.5`` template (empty system prompt, ``" "`` separator), stripped as they strip it."""
    return f"USER: {question} ASSISTANT:"


class OmniMambaUnderstand(OmniMambaBackend):
    """Answers questions about an image with OmniMamba (see the module docstring; loading in ``OmniMambaBackend``)."""

    task = "mmu"
    dino: Any = None
    siglip: Any = None

    def load_task_parts(self, dtype: Any) -> None:
        """DINOv2 and SigLIP through ``from_pretrained`` (SigLIP with timm's exact GELU, see ``vision``)."""
        self.dino, self.siglip = vision.load_towers(str(self.parts.dino), str(self.parts.siglip),
                                                    self.pretrained_kwargs(), dtype, self._where)

    def task_modules(self) -> list[Any]:
        """The two vision towers."""
        return [self.dino, self.siglip]

    def unload(self) -> None:
        """Drop the towers too."""
        super().unload()
        self.dino = self.siglip = None

    def check_inputs(self, request: VQARequest) -> None:
        """Validate the questions, mode and answer length (``check_vqa_request``)."""
        check_vqa_request(request)

    def __call__(self, request: VQARequest, control: RunControl | None = None) -> VQAResult:
        """Answer every question of ``request`` about its image, in order.

        Raises:
            InvalidInput: a bad image, question, mode or answer length, or a question too long for the positions.
            Cancelled: Stop was pressed (checked between tokens).
        """
        control = control or RunControl()
        # 1. validate
        self.check_inputs(request)
        image = load_image(request.image)
        options = self.spec.defaults.options
        max_new = int(request.max_new_tokens or options.get("max_new_tokens", 128))
        started = time.perf_counter()

        # 2. see: (1, 729, 2176) patches -> (1, 729, d), once for all questions
        with self.computing():
            patches = lm_ops.project(self.lm, vision.features(self.dino, self.siglip, image))

        # 3. answer each question
        answers, generated = [], 0
        for index, question in enumerate(request.questions):
            control.raise_if_stopped()
            part = control.part(index, len(request.questions))
            asked = question.strip() + (YESNO_SUFFIX["en"] if request.mode == "yesno" else "")
            answer, count = self.answer(patches, asked, max_new, request.mode == "yesno", part)
            answers.append(VQAAnswer(question=question, text=answer[0], yes_probability=answer[1], prompt="chat"))
            generated += count
        control.report(1.0, f"{self.spec.name}: answered")
        run_seconds = time.perf_counter() - started

        # 4. recipe
        notes = sorted({language_note(q) for q in request.questions} - {""})
        recipe = make_recipe(
            self.provenance(), seed=0, width=image.width, height=image.height, prompt=" | ".join(request.questions),
            load_seconds=self.take_load_seconds(), run_seconds=run_seconds,
            extra={"mode": request.mode, "max_new_tokens": max_new, "sampling": "greedy (top-k 1), as the authors",
                   "template": "phi1.5: USER: {question} ASSISTANT:", "generated_tokens": generated,
                   **({"language_note": notes[0]} if notes else {})},
        )
        return VQAResult(answers=answers, recipe=recipe)

    # ----------------------------------------------------------------------------------------------------------------
    def prompt(self, patches: Any, question: str) -> Any:
        """(1, L, d) inputs: ``<|mmu|> <|soi|>`` + patches + ``<|eoi|> <|sot|>`` + the templated question, with the
        understanding position embeddings."""
        import torch

        ids = self.tokenizer(conversation(question)).input_ids
        head = torch.tensor([[self.token_ids["<|mmu|>"], self.token_ids["<|soi|>"]]], device=self._where)
        tail = torch.tensor([[self.token_ids["<|eoi|>"], self.token_ids["<|sot|>"], *ids]], device=self._where)
        x = torch.cat([lm_ops.text_embeddings(self.lm, head), patches, lm_ops.text_embeddings(self.lm, tail)], dim=1)
        return lm_ops.with_mmu_positions(self.lm, x)

    def answer(self, patches: Any, question: str, max_new: int, yesno: bool,
               control: RunControl) -> tuple[tuple[str, float | None], int]:
        """Greedy answer to one question: ``((text, P(yes) or None), tokens generated)``.

        Raises:
            InvalidInput: the question leaves no room in ``mmu_pos_embed`` for an answer.
        """
        import torch

        with self.computing():
            lm_ops.set_task(self.lm, "mmu")
            x = self.prompt(patches, question)  # (1, L, d)
            length = x.shape[1]
            room = self.config.mmu_positions - length
            if room < 1:
                raise InvalidInput("questions", f"the question takes {length} of OmniMamba's "
                                                f"{self.config.mmu_positions} positions; shorten it")
            cache = lm_ops.new_cache(self.lm)
            hidden = lm_ops.last_hidden(self.lm, x, cache)  # (1, d)
            eos, tokens, probability = self.tokenizer.eos_token_id, [], None
            for step in range(min(max_new, room)):
                control.raise_if_stopped()
                logits = self.lm.lm_head(hidden)  # (1, vocab)
                if yesno and step == 0:
                    probability = self.yes_probability(torch.softmax(logits[0].float(), dim=-1))
                token = sample(logits, 1, 0.0, 1.0, None)  # (1,): greedy, the authors' top_k=1
                if int(token) == eos:
                    break
                tokens.append(int(token))
                control.report((step + 1) / max_new, f"{self.spec.name}: token {step + 1}")
                step_input = lm_ops.text_embeddings(self.lm, token[:, None])  # (1, 1, d)
                hidden = lm_ops.last_hidden(self.lm, lm_ops.with_mmu_positions(self.lm, step_input, length + step),
                                            cache)
        text = self.tokenizer.decode(tokens, skip_special_tokens=True).strip()
        return (text, probability), len(tokens)

    def yes_probability(self, probs: Any) -> float:
        """P(yes) / (P(yes) + P(no)) over the first answer token's distribution ``probs`` (vocab,)."""

        def first_ids(words: tuple[str, ...]) -> set[int]:
            ids = (self.tokenizer.encode(word, add_special_tokens=False) for word in words)
            return {i[0] for i in ids if i and i[0] < probs.shape[0]}

        yes, no = first_ids(YES_WORDS), first_ids(NO_WORDS)
        yes, no = yes - no, no - yes
        p_yes = float(probs[list(yes)].sum()) if yes else 0.0
        p_no = float(probs[list(no)].sum()) if no else 0.0
        total = p_yes + p_no
        return 0.5 if total <= 0 or not math.isfinite(total) else p_yes / total

