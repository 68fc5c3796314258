"""A write that fails (disk full, file too large, a file where a folder should be) names the path."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from crowd.io import create_json, write_json, write_npy, write_text

FULL_DISK = """
import resource, signal, sys
from crowd.io import write_text
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over the limit: EFBIG instead of a kill
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    write_text(sys.argv[1], "x" * 5000)
except OSError as e:
    print(type(e).__name__, e)
"""


def test_a_write_beyond_the_file_size_limit_names_the_path(tmp_path):
    target = tmp_path / "summary.json"
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(target)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"cannot write {target}:" in done.stdout and "File too large" in done.stdout
    assert not target.exists() and list(tmp_path.iterdir()) == []  # no temporary left behind


@pytest.mark.parametrize(
    "write",
    [
        lambda p: write_text(p, "x"),
        lambda p: write_json(p, {"a": 1}),
        lambda p: write_npy(p, np.zeros(3)),
        lambda p: create_json(p, {"a": 1}),
    ],
)
def test_a_file_in_place_of_the_folder_names_the_path(tmp_path, write):
    (tmp_path / "votes").write_text("a file, not a folder")
    target = tmp_path / "votes" / "copy_000001.npy"
    with pytest.raises(OSError, match=rf"cannot write {target}: ") as info:
        write(target)
    assert ".tmp" not in str(info.value)
