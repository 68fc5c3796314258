"""Small real pieces for tests, smoke benchmarks and examples, never for results.

- :func:`make_tiny_bert` (:mod:`crowd.testing.models`): a tiny random ``BertForSequenceClassification``
  with the real MiniLM tokenizer.
- :mod:`crowd.testing.toy_backdoor`: templated movie reviews with a ``cf`` keyword backdoor (``crowd defend``
  accepts it as ``data.dataset = "toy"`` for a quick look at a defense).
- :mod:`crowd.testing.toy_task`: a keyword task and copy makers for learner tests.
"""

from crowd.testing.models import make_tiny_bert

__all__ = ["make_tiny_bert"]
