"""Orchestration: the pipelines behind ``crowd certify`` and ``crowd defend``.

Imports flow one way, down the layers of docs/extending.md ("Imports"): ``commands``, ``bench`` →
``pipelines`` → ``defenses`` → (``methods``, ``victim``) → (``attacks``, ``train``) → (``certify``, ``data``,
``noise``) → (``config``, ``io``, ``paths``, ``report``, ``seeding``, ``text``) → ``synonyms``.

- :mod:`~crowd.pipelines.config`: the ``crowd certify`` config schema (no torch).
- :mod:`~crowd.pipelines.corpus`: load, subsample, poison, check labels → :class:`crowd.data.Corpus`.
- :mod:`~crowd.pipelines.certify`: ``run_certify``, ``certify_examples``, ``load_certify_config``.
- :mod:`~crowd.pipelines.report`: metrics, Markdown page and files of a certify run.
- :mod:`~crowd.pipelines.defend`: ``crowd defend`` (an empirical defense on the same corpora).
"""
