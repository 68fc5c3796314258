"""Wang et al.'s keep-β noise on tokens and labels (Wang, Jia, Cao, Gong 2020, "On Certifying Robustness
against Backdoor Attacks via Randomized Smoothing"; Lee et al. 2019's certificate; THEORY §2(a), §3(a)).

Coordinates: the learner's encoder's ``content_length`` token positions (word pieces for BERT-family
learners, words for the static learner) of every training text (between
[CLS] and [SEP], PAD-padded; domain = the tokenizer's vocabulary), the training labels (domain = the
classes, own ``β_label``) and, with ``noise_test``, the test text's positions (``β_test``). Each keeps its
value with probability β, else takes one of the other ``d − 1`` values uniformly. Certificate ``l0``:
Lee et al.'s exact radius in changed training coordinates (tokens + labels; the test text is taken as
given), worst split of the radius between kinds. Guarantee: probability ``≥ 1 − α`` over the copies.
An inserted word shifts every later token, so BadNets costs thousands of coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from crowd.attacks.budget import attack_budget
from crowd.certify import lee_radius_fn
from crowd.methods.base import (
    TEST_NOISE,
    Certifier,
    Context,
    Plan,
    Reader,
    measured_budget,
    memo_last,
    smoothed_certifier,
    text_keys,
)
from crowd.noise import WangNoise
from crowd.seeding import TextDraws, rng
from crowd.text import WordCorpus
from crowd.train import CopyData
from crowd.train.data import ModelInputs

UNIT = "changed training coordinates (wordpiece tokens + labels)"


@dataclass(frozen=True)
class Wang:
    """``[method] name = "wang"``: ``beta_token``, ``beta_label`` in (0, 1), ``beta_test`` in (0, 1], ``noise_test``.

    The certified coordinates (training tokens and labels) need ``β < 1``: Lee et al.'s radius is defined
    for noise that can change a coordinate. ``beta_test = 1`` keeps the test text as given.
    """

    name: ClassVar[str] = "wang"
    paper_note: ClassVar[str] = (
        "keep-β over padded word-piece coordinates + labels; radius in changed training coordinates"
    )
    uses_graph: ClassVar[bool] = False
    uses_noise: ClassVar[bool] = True
    beta_token: float = 0.9
    beta_label: float = 0.9
    beta_test: float = 0.9
    noise_test: bool = True

    def __post_init__(self) -> None:
        for name in ("beta_token", "beta_label"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ValueError(f"{name} must be in (0, 1) (the certificate needs noise), got {value}")
        if not 0.0 < self.beta_test <= 1.0:
            raise ValueError(f"beta_test must be in (0, 1], got {self.beta_test}")

    def votes_identity(self, graph) -> dict:
        return dict(TEST_NOISE)

    def plan(self, ctx: Context) -> Plan:

        encoder, corpus = ctx.encoder, ctx.corpus
        wang = self.noise_of(encoder, corpus.num_labels)
        noise = self.description(wang)
        kept = {
            "max_radius": ctx.max_radius,
            "content_length": encoder.content_length,
            "vocab_size": encoder.vocab_size,
        }
        budget, reason = measured_budget(ctx.budget_corpus, lambda: self._budget(ctx))
        return Plan(
            make_copy=self._copies(wang, ctx),
            n_models=ctx.n_copies,
            certificate="l0",
            unit=UNIT,
            noise=noise,
            budget=budget,
            not_covered_reason=reason,
            certify=self._certifier(wang, kept),
            deterministic=False,
            covers_labels=True,
            kept=kept,
        )

    def noise_of(self, encoder, num_labels: int) -> WangNoise:
        return WangNoise(
            self.beta_token,
            self.beta_label,
            self.beta_test if self.noise_test else 1.0,
            encoder.content_length,
            encoder.vocab_size,
            num_labels,
        )

    def description(self, wang: WangNoise) -> str:
        return (
            f"keep-beta tokens beta={self.beta_token} d={wang.vocab_size}, labels beta={self.beta_label} "
            f"d={wang.n_classes}, test tokens beta={wang.test_token_beta}"
        )

    def certifier(self, num_labels: int, kept: dict, graph=None) -> Certifier:
        """Monte Carlo certificates with Lee et al.'s radius over training tokens and labels (``kept``: the
        token domain and content length the models were trained with)."""
        wang = WangNoise(
            self.beta_token,
            self.beta_label,
            self.beta_test if self.noise_test else 1.0,
            kept["content_length"],
            kept["vocab_size"],
            num_labels,
        )
        return self._certifier(wang, kept)

    def _certifier(self, wang: WangNoise, kept: dict) -> Certifier:
        kinds = wang.kinds()[:2]  # the attacker changes training tokens and labels; the test text is given
        fns = {"l0": lee_radius_fn(kinds, kept["max_radius"])}
        return smoothed_certifier(self.description(wang), fns, wang.n_classes)

    def reader(self, encoder, seed: int, graph, num_labels: int) -> Reader:
        return self._reader(self.noise_of(encoder, num_labels), encoder, seed)

    def _reader(self, wang: WangNoise, encoder, seed: int) -> Reader:
        """Model ``j`` sees each text's token coordinates under keep-β test noise (``noise_test``), drawn per
        text (:class:`crowd.seeding.TextDraws` keyed by ``(seed, j)`` and the text); else as given."""
        content = memo_last(encoder.content)
        keys = memo_last(text_keys)

        def read(j: int, texts: WordCorpus) -> ModelInputs:
            matrix = content(texts)
            if self.noise_test:
                matrix = wang.test_tokens.perturb(matrix, TextDraws(seed, "test-noise", j, keys(texts)))
            return ModelInputs(*encoder.from_content(matrix))

        return read

    def _copies(self, wang, ctx: Context):

        encoder, words, seed = ctx.encoder, ctx.words, ctx.seed
        train_content = encoder.content(words.train)
        read = self._reader(wang, encoder, seed)

        def make_copy(j: int) -> CopyData:
            g = rng(seed, "train-noise", j)
            train_ids, train_mask = encoder.from_content(wang.train_tokens.perturb(train_content, g))
            labels = wang.labels.perturb(words.train_labels, g)
            test = read(j, words.test)
            return CopyData(train_ids, train_mask, labels, test.ids, test.mask)

        return make_copy

    @staticmethod
    def _budget(ctx: Context) -> tuple[int | None, str]:
        encoder, c = ctx.encoder, ctx.budget_corpus

        def coordinates(text: str):  # the text's fixed-length token coordinates, as the noise sees them
            return encoder.content(WordCorpus.from_texts([text]))[0]

        b = attack_budget(
            list(c.train_clean), list(c.train), length=encoder.content_length, tokenize=coordinates
        )
        return int(b.l0_tokens + b.l0_labels), ""
