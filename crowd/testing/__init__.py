"""Small real pieces for tests, never for results.

- :func:`make_tiny_bert`: a tiny random ``BertForSequenceClassification`` with the real MiniLM
  tokenizer (it lives in :mod:`crowd.bench.resources`, which builds the smoke scale's models).
- :mod:`crowd.testing.toy_task`: a keyword task and copy makers for learner tests.

The toy keyword-backdoor corpus is a built-in dataset: :mod:`crowd.data.toy`.
"""

from crowd.bench.resources import make_tiny_bert

__all__ = ["make_tiny_bert"]
