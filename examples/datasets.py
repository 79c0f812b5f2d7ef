"""The 8x8 handwritten digits (UCI optdigits test set, scikit-learn's copy), numpy only.

See data/README.md for the source, licence and file format.
"""

import gzip
import hashlib
from pathlib import Path

import numpy as np

DIGITS_PATH = Path(__file__).resolve().parent / "data" / "digits.csv.gz"
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


def load_digits(path=None):
    """Return ``(images, labels)``: float32 ``[1797, 64]`` scaled to [0, 1] and
    int32 ``[1797]``. The file's sha256 is checked before it is parsed."""
    path = Path(path) if path is not None else DIGITS_PATH
    if not path.is_file():
        raise FileNotFoundError(
            f"digits data file not found: {path} (it ships in the repository as "
            "examples/data/digits.csv.gz; see examples/data/README.md)"
        )
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != DIGITS_SHA256:
        raise ValueError(
            f"digits data file {path} is corrupted: sha256 {digest}, expected "
            f"{DIGITS_SHA256}; restore it from git (examples/data/digits.csv.gz)"
        )
    # Rows: 64 pixel counts in 0..16 (row-major 8x8), then the label 0..9.
    table = np.loadtxt(gzip.decompress(raw).decode("ascii").splitlines(), delimiter=",")
    images = (table[:, :64] / 16.0).astype(np.float32)
    labels = table[:, 64].astype(np.int32)
    return images, labels


def train_test_split(x, y, test_fraction=0.2, seed=0):
    """Shuffle with ``seed`` and split; returns ``(x_train, x_test, y_train, y_test)``."""
    n = len(x)
    if len(y) != n:
        raise ValueError(f"x has {n} rows but y has {len(y)}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = round(n * test_fraction)
    perm = np.random.default_rng(seed).permutation(n)
    test, train = perm[:n_test], perm[n_test:]
    return x[train], x[test], y[train], y[test]
