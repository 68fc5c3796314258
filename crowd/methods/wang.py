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
from crowd.methods.base import Context, Plan, measured_budget, smoothed_certifier
from crowd.noise import WangNoise
from crowd.seeding import rng
from crowd.text import WordCorpus
from crowd.train import CopyData

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
        return {}

    def plan(self, ctx: Context) -> Plan:

        encoder, corpus = ctx.encoder, ctx.corpus
        vocab_size = encoder.vocab_size
        wang = WangNoise(
            self.beta_token,
            self.beta_label,
            self.beta_test if self.noise_test else 1.0,
            encoder.content_length,
            vocab_size,
            corpus.num_labels,
        )
        kinds = wang.kinds()[:2]  # the attacker changes training tokens and labels; the test text is given
        fns = [{"l0": lee_radius_fn(kinds, ctx.max_radius)}] * len(ctx.words.test)
        noise = (
            f"keep-beta tokens beta={self.beta_token} d={vocab_size}, labels beta={self.beta_label} "
            f"d={corpus.num_labels}, test tokens beta={wang.test_token_beta}"
        )
        budget, reason = measured_budget(ctx.budget_corpus, lambda: self._budget(ctx))
        return Plan(
            make_copy=self._copies(wang, ctx),
            n_models=ctx.n_copies,
            certificate="l0",
            unit=UNIT,
            noise=noise,
            budget=budget,
            not_covered_reason=reason,
            certify=smoothed_certifier(noise, fns, corpus.num_labels),
            deterministic=False,
            covers_labels=True,
        )

    def _copies(self, wang, ctx: Context):

        encoder, words, seed = ctx.encoder, ctx.words, ctx.seed
        train_content, test_content = encoder.content(words.train), encoder.content(words.test)

        def make_copy(j: int) -> CopyData:
            g = rng(seed, "train-noise", j)
            train_ids, train_mask = encoder.from_content(wang.train_tokens.perturb(train_content, g))
            labels = wang.labels.perturb(words.train_labels, g)
            content = test_content
            if self.noise_test:
                content = wang.test_tokens.perturb(test_content, rng(seed, "test-noise", j))
            test_ids, test_mask = encoder.from_content(content)
            return CopyData(train_ids, train_mask, labels, test_ids, test_mask)

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
