"""Match features kept between runs, so a run computes them only for records whose inputs changed.

Features cost more than anything else an incremental run does (name transliteration, nickname
groups, e-mail and street keys), and 99% of the records did not change. The cache is a Parquet
file beside the warehouse: a derived copy, never the truth. Each row carries a 64-bit hash of the
record's match inputs (or of the whole record) and is reused only when it hashes the same; the whole file
is ignored when the code or tables that compute features changed (`file_version`) or when it
cannot be read. Deleting it only costs time. It also tells an incremental run which identifier
values a changed or deleted record held before (engine.sharing), so it is written only after a
run has committed. A warehouse table was tried first and lost: reading it back through the
driver cost more than computing the features.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from pandas.util import hash_pandas_object

from include.config import MAPPINGS_DIR, data_dir
from include.identity.features import FEATURES, build

INPUT_HASH = "input_hash"
DIGEST = "features_digest"
VERSION_KEY = b"seam.features.code_version"
_log = logging.getLogger(__name__)


@cache
def code_version() -> str:
    """What computes the features: features.py, normalisation, the nickname tables and the
    libraries whose output or hashing they depend on (record fingerprints use it too)."""
    import nicknames

    from include import normalise
    from include.identity import features

    digest = hashlib.sha1()
    for path in (features.__file__, normalise.__file__, MAPPINGS_DIR / "nicknames.yaml"):
        digest.update(Path(path).read_bytes())
    digest.update(f"{pd.__version__}|{getattr(nicknames, '__version__', '')}".encode())
    return digest.hexdigest()


@cache
def file_version() -> str:
    """What a cache file must have been written with: the feature code and this module's layout."""
    return f"{code_version()}|{hashlib.sha1(Path(__file__).read_bytes()).hexdigest()}"


def path_for(engine: sa.Engine) -> Path | None:
    """Beside a SQLite warehouse file (none for one in memory); under the data directory for a
    server warehouse."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return None if url.database in (None, "", ":memory:") else Path(f"{url.database}.features.parquet")
    name = hashlib.sha1(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return data_dir() / "cache" / f"features-{name}.parquet"


def digest(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each row's match features (record fingerprints). first_names follows from
    first_key and the nickname tables, which code_version covers."""
    columns = [c for c in FEATURES if c != "first_names"]
    return hash_pandas_object(frame[columns], index=False, categorize=False).to_numpy()  # a third faster on distinct values


@dataclass
class Features:
    frame: pd.DataFrame  # unique_id + FEATURES, in the inputs' order
    computed: int  # records whose features were computed (the rest came from the cache)
    # the cached features of records whose inputs changed or that are gone: the identifier values
    # they held until now (None: no usable cache, so not known)
    before: pd.DataFrame | None
    input_hashes: np.ndarray
    # `digest` of each row, kept with the row in the cache: only recomputed rows are hashed again
    digests: np.ndarray

    def save(self, path: Path | None) -> None:
        """Write the cache anew: call it once the run's results are committed, so the cache never
        runs ahead of the warehouse (a failed run would otherwise lose what records held before)."""
        if path is not None:
            _write(path, self.frame, self.input_hashes, self.digests)


def features(inputs: pd.DataFrame, path: Path | None) -> Features:
    """features.build(inputs), taking unchanged records (same input columns) from the cache at
    `path` (read only: see Features.save)."""
    hashes = hash_pandas_object(inputs.drop(columns="unique_id"), index=False, categorize=False).to_numpy()
    return features_for(inputs["unique_id"].tolist(), hashes, lambda rows: inputs[rows], path)


def features_for(ids: list[str], hashes: np.ndarray, inputs_of: Callable[[np.ndarray], pd.DataFrame],
                 path: Path | None) -> Features:
    """Features of the records `ids`, each with a 64-bit hash of everything its inputs come from:
    a record whose hash is as cached takes its cached features, and only the others' input frame
    is asked for, `inputs_of(mask)` (unique_id and input columns of the records where the boolean
    mask is set; building it for a million records cost more than reading the cache)."""
    cached = _read(path) if path is not None else None
    everyone = np.ones(len(ids), dtype=bool)
    if cached is None:
        out = build(inputs_of(everyone))
        computed, before, digests = len(ids), None, digest(out)
    else:
        at = pd.Index(cached["unique_id"]).get_indexer(ids)  # -1: not in the cache
        hit = at >= 0
        hit[hit] = cached[INPUT_HASH].to_numpy()[at[hit]] == hashes[hit]
        out = cached.iloc[at[hit]].reset_index(drop=True)
        out.index = np.flatnonzero(hit)
        digests = np.empty(len(ids), dtype=np.uint64)
        digests[hit] = cached[DIGEST].to_numpy()[at[hit]]
        computed = int((~hit).sum())
        if computed:
            fresh = build(inputs_of(~hit))
            fresh.index = np.flatnonzero(~hit)
            digests[~hit] = digest(fresh)
            out = pd.concat([out, fresh]).sort_index()
        kept = np.zeros(len(cached), dtype=bool)
        kept[at[hit]] = True
        before = cached[~kept][["unique_id", *FEATURES]].reset_index(drop=True)
    out = out.reset_index(drop=True)[["unique_id", *FEATURES]]
    out["unique_id"] = out["unique_id"].astype(str)  # as build gives it
    return Features(out, computed, before, hashes, digests)


def _read(path: Path) -> pd.DataFrame | None:
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        return None
    except (OSError, pa.ArrowException) as exc:  # a broken cache is rebuilt, never trusted
        _log.warning("feature cache %s unreadable (%s): features are computed again", path, exc)
        return None
    if (table.schema.metadata or {}).get(VERSION_KEY, b"").decode() != file_version():
        return None
    frame = table.drop_columns(["first_names"]).to_pandas()
    frame["first_names"] = table.column("first_names").to_pylist()  # lists, as build gives them
    for column in frame.columns:
        if column not in ("first_names", INPUT_HASH, DIGEST):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame.drop_duplicates("unique_id", keep=False)


def _write(path: Path, frame: pd.DataFrame, hashes: np.ndarray, digests: np.ndarray) -> None:
    """Atomically: a reader never sees half a file."""
    table = pa.Table.from_pandas(frame[["unique_id", *FEATURES]].assign(**{INPUT_HASH: hashes, DIGEST: digests}),
                                 preserve_index=False)
    table = table.replace_schema_metadata({VERSION_KEY: file_version().encode()})
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, partial)
        os.replace(partial, path)
    except OSError as exc:  # a read-only or full disk costs the next run time, not correctness
        _log.warning("feature cache %s not written (%s)", path, exc)
        partial.unlink(missing_ok=True)
