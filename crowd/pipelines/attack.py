"""The one builder from an ``[attack]`` table to an attack object.

``crowd certify`` and ``crowd defend`` (through :func:`crowd.pipelines.corpus.prepare_corpus`) and
``crowd poison`` (its options become an :class:`~crowd.pipelines.config.AttackConfig`) all call
:func:`attack_from_config`, so a setting means the same in a config and on the command line: presets, unset
keys and the toolkit's defaults are resolved once, by :func:`crowd.attacks.factory.make_attack`. Light: the
default synonym graph (gensim) is the caller's to load, passed as ``graph``.
"""

from __future__ import annotations

from collections.abc import Callable

from crowd.attacks import Attack
from crowd.attacks.factory import attack_class, make_attack
from crowd.pipelines.config import AttackConfig, DataConfig
from synonyms.graph import SynonymGraph

GraphSource = SynonymGraph | Callable[[], SynonymGraph] | None


def attack_from_config(attack: AttackConfig, data: DataConfig, graph: GraphSource = None) -> Attack:
    """The attack an :class:`~crowd.pipelines.config.AttackConfig` describes, for the corpus of ``data``.

    ``graph``: what an attack with ``needs_graph`` (word substitution) draws from when ``attack.graph`` names
    no graph folder: a graph, or a function that loads one (called only when the attack needs it).
    """

    attack_class(attack.name)  # an unknown name fails before any graph is loaded
    return make_attack(
        attack.name,
        data.dataset,
        attack.target_label,
        attack.poison_rate,
        attack.variant,
        data=data.data_root,
        num_triggers=attack.num_triggers,
        triggers=attack.triggers,
        sentence=attack.sentence,
        paraphrases=attack.paraphrases,
        style=attack.style,
        graph=attack_graph(attack, graph),
        num_substitutions=attack.num_substitutions,
        preset=attack.preset,
    )


def attack_graph(attack: AttackConfig, graph: GraphSource = None) -> SynonymGraph | None:
    """The graph an attack with ``needs_graph`` (word substitution) draws from: the folder ``attack.graph``,
    else ``graph`` (called when it is a function, so a graph is built only when an attack needs it); ``None``
    for the other attacks (and for one with neither: the attack then says it needs a graph)."""
    if not attack_class(attack.name).needs_graph:
        return None
    if attack.graph:
        return SynonymGraph.load(attack.graph)
    return graph() if callable(graph) else graph
