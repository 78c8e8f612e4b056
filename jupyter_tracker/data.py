"""Datasets for ``log_input`` (MLflow's ``mlflow.data``): ``from_pandas`` and ``from_numpy``
describe data a run used (name, a digest of the content, source, schema, profile); the data
itself is not stored.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .entities import Dataset

DIGEST_ROWS = 10_000  # rows hashed for the digest, as MLflow (a digest, not a checksum)


def _source(source: Any) -> tuple[str, str]:
    """(source type, source) as MLflow names them: a URL, a local path, or the code."""
    if source is None:
        return "code", ""
    text = str(source)
    scheme = text.split("://", 1)[0] if "://" in text else ""
    return (scheme or "local"), text


def from_pandas(
    df: Any,
    source: Any = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
    predictions: str | None = None,
) -> Dataset:
    """A DataFrame as a dataset: its columns and types, row count, and a digest of its first
    ``DIGEST_ROWS`` rows (``targets`` and ``predictions`` name columns)."""
    import pandas as pd

    if digest is None:
        hashed = pd.util.hash_pandas_object(df.head(DIGEST_ROWS), index=False).to_numpy()
        digest = hashlib.sha256(hashed.tobytes() + str(df.shape).encode()).hexdigest()[:8]
    columns = [{"name": str(c), "type": str(t)} for c, t in df.dtypes.items()]
    source_type, source_text = _source(source)
    return Dataset(
        name or "dataset",
        digest,
        source_type,
        source_text,
        {"columns": columns, "targets": targets, "predictions": predictions},
        {"num_rows": len(df), "num_elements": int(df.size)},
    )


def from_numpy(
    features: Any,
    source: Any = None,
    targets: Any = None,
    name: str | None = None,
    digest: str | None = None,
) -> Dataset:
    """A numpy array (with optional ``targets``) as a dataset: shape, dtype and a digest
    of its first ``DIGEST_ROWS`` rows."""
    import numpy as np

    arrays = [np.asarray(features)] + ([] if targets is None else [np.asarray(targets)])
    if digest is None:
        h = hashlib.sha256()
        for array in arrays:
            h.update(np.ascontiguousarray(array[:DIGEST_ROWS]).tobytes())
            h.update(f"{array.shape}{array.dtype}".encode())
        digest = h.hexdigest()[:8]
    described = [{"shape": list(a.shape), "dtype": str(a.dtype)} for a in arrays]
    source_type, source_text = _source(source)
    return Dataset(
        name or "dataset",
        digest,
        source_type,
        source_text,
        {"features": described[0], "targets": described[1] if targets is not None else None},
        {"features_shape": described[0]["shape"], "num_elements": int(arrays[0].size)},
    )
