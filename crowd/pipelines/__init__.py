"""Orchestration: the pipelines behind ``crowd certify`` and ``crowd defend``.

Imports flow one way, down the layers of docs/extending.md ("Imports"): ``commands``, ``bench`` →
``pipelines`` → ``defenses`` → (``methods``, ``victim``) → (``attacks``, ``train``) → (``certify``, ``data``,
``noise``) → (``config``, ``io``, ``paths``, ``report``, ``seeding``, ``text``) → ``synonyms``.

- :mod:`~crowd.pipelines.config`: the ``crowd certify`` config schema (no torch).
- :mod:`~crowd.pipelines.corpus`: load, subsample, poison, check labels → :class:`crowd.data.Corpus`.
- :mod:`~crowd.pipelines.fitting`: a method's plan, its models trained into a sealed model folder.
- :mod:`~crowd.pipelines.classifier`: :class:`CertifiedClassifier`, the kept ensemble (fit, certify, save, load).
- :mod:`~crowd.pipelines.certify`: ``run_certify``, ``certify_examples``, ``load_certify_config``.
- :mod:`~crowd.pipelines.report`: a certify run's report: the typed summary (``report_summary``), its metrics
  (``report_metrics``, ``report_worlds``), the Markdown page (``report_markdown``) and the files.
- :mod:`~crowd.pipelines.defend`: ``crowd defend`` (an empirical defense on the same corpora).
"""
