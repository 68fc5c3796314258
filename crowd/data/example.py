"""The typed record every loader and poisoner produces.

Convention for ``source_label``: it is the label *before poisoning*. Clean
examples carry ``source_label=None`` (their ``label`` is already the original
one); poisoned examples carry the original label whenever it is known, and
``None`` only when a file does not record it (e.g. a poisoned row read from an
OpenBackdoor CSV without its clean source). :attr:`Example.original_label`
resolves both cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Example:
    """One labelled text.

    ``poisoned`` marks a text produced by an attack; ``source_label`` is the label
    it had before poisoning (``None`` for clean examples, see the module docstring).
    ``source`` is where a loaded example came from (``"path:line"``), so that errors
    found later can name it; it takes no part in equality, hashing or ``to_dict``.
    """

    text: str
    label: int
    poisoned: bool = False
    source_label: int | None = None
    source: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise TypeError(f"text must be a string, got {type(self.text).__name__}")
        if not self.poisoned and self.source_label is not None and self.source_label != self.label:
            raise ValueError("a clean example cannot have a source_label different from its label")

    @property
    def original_label(self) -> int | None:
        """The true label: ``label`` for clean examples, ``source_label`` for poisoned ones."""
        return self.source_label if self.poisoned else self.label

    @property
    def flipped(self) -> bool:
        """Whether poisoning changed the label (``False`` when the original label is unknown)."""
        return self.poisoned and self.source_label is not None and self.source_label != self.label

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "label": self.label,
            "poisoned": self.poisoned,
            "source_label": self.source_label,
        }
