"""The dataset fingerprint every adapter uses: one definition, whatever holds the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from fingerprints import documented_sha256
from provinstr.capture.records import fingerprint


def test_an_array_a_list_and_a_dataframe_of_the_same_values_have_the_documented_sha256():
    values = np.arange(12, dtype=np.int64).reshape(4, 3)
    expected = documented_sha256(values)
    assert fingerprint(values).sha256 == expected
    assert fingerprint(values.tolist()).sha256 == expected
    assert fingerprint(pd.DataFrame(values, columns=list("abc"))).sha256 == expected
    assert fingerprint(values.astype(np.int32)).sha256 != expected  # the dtype is part of it
    assert fingerprint(values.reshape(3, 4)).sha256 != expected  # and the shape


def test_every_sparse_format_is_hashed_as_its_csr_content():
    eye = np.eye(3)
    coo, csr, lil = sparse.coo_matrix(eye), sparse.csr_matrix(eye), sparse.lil_matrix(eye)
    assert fingerprint(coo).sha256 == fingerprint(csr).sha256 == fingerprint(lil).sha256
    assert fingerprint(coo).shape == [3, 3]
    assert fingerprint(sparse.coo_matrix(2 * eye)).sha256 != fingerprint(coo).sha256


def test_big_object_and_strided_data_are_fingerprinted_from_a_sample_that_says_so():
    frame = pd.DataFrame({"n": range(50_000), "label": ["x"] * 50_000})
    sampled = fingerprint(frame, limit_bytes=1_000)
    assert sampled.shape == [50_000, 2] and "evenly spaced rows of 50000" in sampled.note
    strided = np.arange(400_000, dtype=np.float64).reshape(-1, 4)[:, ::2]
    found = fingerprint(strided, limit_bytes=1_000)
    assert found.shape == [100_000, 2] and found.note is not None
    assert fingerprint(strided).sha256 == documented_sha256(strided)  # under the limit: the whole content
