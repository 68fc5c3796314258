"""The undefended victim of the empirical defenses: a fine-tuned sequence classifier and its store.

* :class:`Victim`, :class:`VictimConfig` (:mod:`crowd.victim.model`): training (whole model or its
  top layers), probabilities, ``[CLS]`` vectors, the word-embedding matrix and logits from embeddings.
* :class:`VictimStore`, :func:`victim_key` (:mod:`crowd.victim.store`): trained victims kept on disk.

The certified methods' base classifiers are elsewhere (:mod:`crowd.train`); the victim shares their
model loading and frozen-bottom code (:mod:`crowd.train.models`, :mod:`crowd.train.partial`).
"""

from crowd.victim.model import Victim, VictimConfig
from crowd.victim.store import VictimStore, victim_key

__all__ = ["Victim", "VictimConfig", "VictimStore", "victim_key"]
