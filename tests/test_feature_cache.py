"""The feature cache: reused rows are exactly what build computes; anything doubtful is computed again."""

from __future__ import annotations

import logging

import pandas as pd
import sqlalchemy as sa

from include.identity import feature_cache
from include.identity.features import build

RECORDS = pd.DataFrame({
    "unique_id": ["crm|c|1", "shop|c|2", "mc|m|3", "qb|c|4"],
    "first_name": ["Юлия", "Julia", "Bill", None],
    "last_name": ["Иванова", "Ivanova", "Smith", "Orlov"],
    "email": ["julia@example.com", None, "bill.smith@gmail.com", "o@orlov.ru"],
    "phone": ["+79161234567", "+7 916 123-45-67", None, None],
    "date_of_birth": [None, pd.Timestamp("1990-05-01").date(), None, None],
    "street": ["ул. Ленина, 5", None, "12 High Street", None],
    "company": [None, "ООО «Ромашка»", None, None],
})


def _run(records, path):
    result = feature_cache.features(records, path)
    result.save(path)
    return result.frame, result.computed


def test_a_second_run_reuses_every_row_and_gets_what_build_computes(tmp_path):
    path = tmp_path / "features.parquet"
    first, computed_first = _run(RECORDS, path)
    second, computed_second = _run(RECORDS, path)
    assert (computed_first, computed_second) == (4, 0)
    pd.testing.assert_frame_equal(second, build(RECORDS))
    pd.testing.assert_frame_equal(first, second)
    assert second.loc[0, "first_names"] == build(RECORDS).loc[0, "first_names"]  # lists, not arrays


def test_only_changed_and_new_records_are_computed(tmp_path):
    path = tmp_path / "features.parquet"
    _run(RECORDS, path)
    changed = RECORDS.copy()
    changed.loc[2, "email"] = "bill@work.example"
    changed = pd.concat([changed.drop(index=0), pd.DataFrame({"unique_id": ["new|x|5"], "first_name": ["Anna"]})],
                        ignore_index=True)
    result = feature_cache.features(changed, path)
    assert result.computed == 2  # Bill's new e-mail and the new record; the dropped record is simply gone
    pd.testing.assert_frame_equal(result.frame, build(changed))
    assert result.frame.loc[1, "email_key"] == "bill@work.example"
    # each row's feature digest, kept in the cache or computed for the changed rows, is what
    # hashing all the features gives; only Bill's changed
    assert result.digests.tolist() == feature_cache.digest(build(changed)).tolist()
    before = feature_cache.digest(build(RECORDS))
    assert [d == before[i] for d, i in zip(result.digests, [1, 2, 3], strict=False)] == [True, False, True]


def test_a_cache_from_other_feature_code_is_not_used(tmp_path, monkeypatch):
    path = tmp_path / "features.parquet"
    _run(RECORDS, path)
    monkeypatch.setattr(feature_cache, "file_version", lambda: "normalisation changed since")
    out, computed = _run(RECORDS, path)
    assert computed == len(RECORDS)
    pd.testing.assert_frame_equal(out, build(RECORDS))


def test_an_unreadable_cache_is_reported_computed_again_and_rewritten(tmp_path, caplog):
    path = tmp_path / "features.parquet"
    path.write_bytes(b"not parquet at all")
    with caplog.at_level(logging.WARNING):
        out, computed = _run(RECORDS, path)
    assert computed == len(RECORDS) and "unreadable" in caplog.text
    pd.testing.assert_frame_equal(out, build(RECORDS))
    assert _run(RECORDS, path)[1] == 0


def test_the_cache_sits_beside_a_sqlite_warehouse_and_under_the_data_directory_for_a_server(tmp_path, monkeypatch):
    monkeypatch.setenv("SEAM_DATA_DIR", str(tmp_path / "data"))
    assert feature_cache.path_for(sa.create_engine(f"sqlite:///{tmp_path}/wh.db")) == tmp_path / "wh.db.features.parquet"
    server = feature_cache.path_for(sa.create_engine("postgresql+psycopg://seam:secret@db:5432/warehouse"))
    assert server.parent == tmp_path / "data" / "cache" and "secret" not in server.name
    other = feature_cache.path_for(sa.create_engine("postgresql+psycopg://seam:secret@db:5432/other"))
    assert other != server
    assert feature_cache.path_for(sa.create_engine("sqlite://")) is None  # an in-memory warehouse keeps none


def test_no_path_means_no_cache(tmp_path):
    out, computed = _run(RECORDS, None)
    assert computed == len(RECORDS) and not list(tmp_path.iterdir())
    pd.testing.assert_frame_equal(out, build(RECORDS))


def test_an_empty_cache_or_no_records_is_no_special_case(tmp_path):
    path = tmp_path / "features.parquet"
    empty = RECORDS.iloc[0:0]
    out, computed = _run(empty, path)
    assert computed == 0 and out.empty and list(out.columns) == list(build(RECORDS).columns)
    out, computed = _run(RECORDS, path)  # the cache written for no records is empty
    assert computed == len(RECORDS)
    pd.testing.assert_frame_equal(out, build(RECORDS))
    out, computed = _run(empty, path)
    assert computed == 0 and out.empty


def test_the_features_records_held_before_a_change_or_their_removal_are_returned(tmp_path):
    path = tmp_path / "features.parquet"
    first = feature_cache.features(RECORDS, path)
    assert first.before is None and not path.exists()  # no cache: not known; reading writes nothing
    first.save(path)
    changed = RECORDS.copy()
    changed.loc[2, "phone"] = "+1 212 555 0100"
    result = feature_cache.features(changed.drop(index=0).reset_index(drop=True), path)
    result.save(path)
    before = result.before.set_index("unique_id")
    assert sorted(before.index) == ["crm|c|1", "mc|m|3"]  # Юлия's record is gone, Bill's phone changed
    assert before.loc["mc|m|3", "phone"] is None and before.loc["crm|c|1", "phone"] == "79161234567"
    back = feature_cache.features(changed, path)  # Юлия's record is back: new to the cache, nothing held before
    assert back.before.empty and back.computed == 1
