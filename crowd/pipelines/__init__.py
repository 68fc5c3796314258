"""Orchestration: the pipelines behind ``crowd certify`` and ``crowd defend``.

Imports flow one way: ``commands`` → ``pipelines`` → (``methods``, ``attacks``, ``defenses``, ``train``) →
(``certify``, ``noise``, ``data``, ``text``) → ``synonyms``.

- :mod:`~crowd.pipelines.config`: the ``crowd certify`` config schema (no torch).
- :mod:`~crowd.pipelines.corpus`: load, subsample, poison, check labels → :class:`crowd.data.Corpus`.
- :mod:`~crowd.pipelines.certify`: ``run_certify``, ``certify_examples``, ``load_certify_config``.
- :mod:`~crowd.pipelines.report`: metrics, Markdown page and files of a certify run.
- :mod:`~crowd.pipelines.defend`: ``crowd defend`` (an empirical defense on the same corpora).
"""
