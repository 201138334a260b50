"""Identity resolution: guards, clustering, stable ids, survivorship, consent, and the resolve stage
on a real warehouse (SQLite and PostgreSQL), full and incremental, with overrides."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from include.config import load_yaml
from include.identity import engine as matching
from include.identity import golden, guards, ids, overrides
from include.identity.clustering import Edge, cluster
from include.identity.features import build, first_names
from include.identity.resolve import resolve
from include.normalise import translit_key
from include.warehouse import append_rows
from include.warehouse.schema import (
    consents,
    customer_field_lineage,
    customer_id_history,
    customer_links,
    customer_sources,
    customers,
    identity_issues,
    identity_models,
    person_records,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = load_yaml("matching.yaml")["people"]


# --- names and guards ---------------------------------------------------------------------------

def test_nicknames_and_scripts_agree_but_different_names_do_not():
    key = build(pd.DataFrame({"id": ["1", "2", "3", "4"], "first_name": ["Юлия", "Julia", "Bill", "Саша"]}), "id")
    assert key["first_key"][0] == key["first_key"][1]
    assert translit_key("William") in first_names(translit_key("Bill"))
    assert guards.names_agree("sasha", "aleksandr")  # Саша is Александр's diminutive
    assert guards.names_agree("stve", "steven")  # one typo from Steve, Steven's nickname
    assert not guards.names_agree("ana", "nastia")  # two nicknames of Anastasia are not one person
    assert not guards.names_agree("maksim", "olga")
    assert guards.names_agree(None, "olga")  # a missing name contradicts nothing



def test_a_value_that_gives_no_key_is_none_and_nickname_groups_are_lists():
    """One form for "no key", whether the field was empty or its value held none (digits for a
    name): None, which the feature cache and Splink read as missing, never a float NaN."""
    frame = build(pd.DataFrame({"id": ["1", "2", "3"], "first_name": ["123", None, "Bill"],
                                "last_name": ["Orlov", "Orlov", None]}), "id")
    assert frame["first_key"].tolist() == [None, None, "bil"]
    assert frame["first_names"].tolist()[:2] == [None, None] and isinstance(frame["first_names"][2], list)
    assert frame["last_key"].tolist()[2] is None and frame["first_key"].dtype == object

def test_blocklisted_and_over_shared_identifiers_are_taken_out():
    rows = pd.DataFrame({"id": [str(i) for i in range(5)],
                         "first_name": ["Anna", "Boris", "Clara", "Dmitri", "Eva"],
                         "email": ["test@test.com", "office@firm.ru", "office@firm.ru", "office@firm.ru", "eva@x.org"]})
    features, report = guards.apply(build(rows, "id"), CONFIG["guards"])
    assert features["email_key"].tolist() == [None, None, None, None, "eva@x.org"]
    reasons = {(r["column"], r["value"]): r["reason"] for r in report}
    assert reasons == {("email_key", "test@test.com"): "blocklist", ("email_local", "test"): "blocklist",
                       ("email_key", "office@firm.ru"): "shared by 3 people"}



def test_the_blocklist_ignores_case_and_holds_for_values_that_are_not_text():
    """Features built by Seam are lower case, but a frame handed to the guards may not be; a phone
    column of numbers (a file read with its types) is checked too."""
    frame = pd.DataFrame({"unique_id": ["1", "2", "3", "4"], "first_key": ["anna", "boris", "clara", "dima"],
                          "email_key": pd.Series(["NoReply@Example.COM", None, "anna@x.org", float("nan")], dtype=object),
                          "phone": pd.Series([70000000000, 79161234567, None, 70000000000], dtype=object)})
    guarded, report = guards.apply(frame, {"blocklist": {"email_key": ["noreply@example.com"],
                                                         "phone": ["70000000000"]}})
    assert guarded["email_key"].tolist()[:3] == [None, None, "anna@x.org"]
    assert guarded["phone"].tolist() == [None, 79161234567, None, None]
    assert sorted((r["column"], str(r["value"]), r["records"]) for r in report) == [
        ("email_key", "NoReply@Example.COM", 1), ("phone", "70000000000", 2)]

# --- constrained clustering -------------------------------------------------------------------

def test_clustering_refuses_cannot_links_oversized_clusters_and_name_clashes():
    names = ["anna", "anna", "ivan", "anna", "anna"]
    edges = [Edge.of(0, 1, 20, "model"), Edge.of(1, 2, 30, "model"), Edge.of(3, 4, 25, "model"),
             Edge.of(0, 3, 15, "model")]
    result = cluster(5, edges, names, cannot_link={(1, 4)}, max_size=3)
    reasons = sorted(reason for _e, reason in result.refused)
    assert reasons == ["cannot-link override", "given names contradict"]
    assert result.roots[0] == result.roots[1] != result.roots[2]
    assert result.roots[3] == result.roots[4] != result.roots[0]
    # a size limit refuses the merge that would exceed it
    sized = cluster(3, [Edge.of(0, 1, 9, "model"), Edge.of(1, 2, 8, "model")], ["a", "a", "a"], set(), max_size=2)
    assert [r for _e, r in sized.refused] == ["cluster would exceed 2 records"]


def test_personal_evidence_may_join_contradicting_names():
    edge = Edge.of(0, 1, 12, "model", may_join_names=True)
    assert cluster(2, [edge], ["katherine", "mary"], set(), 10).roots == [0, 0]


def test_a_name_joined_on_personal_evidence_does_not_keep_the_persons_own_records_out():
    """FEBRL3 rec-482: three Lauren Frahn records, one "Amber Frah" that joins them on birth date and
    national id, then "Laurex Frahn", a typo of Lauren, linked by name and address alone. Amber is
    taken as a misspelling of the larger side, so Laurex joins; another Amber (a sister linked by
    the family mailbox) still cannot, and an even merge keeps both names as before."""
    lauren, amber, laurex = ("lauren", "frahn"), ("amber", "frah"), ("laurex", "frahn")
    names = [lauren, lauren, lauren, amber, laurex, amber]
    edges = [Edge.of(0, 1, 30, "model"), Edge.of(1, 2, 30, "model"),
             Edge.of(2, 3, 20, "model", may_join_names=True),  # birth date and national id agree
             Edge.of(0, 4, 11, "model"),  # no personal evidence
             Edge.of(3, 5, 8, "model")]  # the family mailbox and address
    result = cluster(6, edges, names, set(), 10)
    assert len({result.roots[i] for i in range(5)}) == 1
    assert result.roots[5] != result.roots[0]
    assert [reason for _e, reason in result.refused] == ["given names contradict"]
    even = cluster(3, [Edge.of(0, 1, 20, "model", may_join_names=True), Edge.of(0, 2, 11, "model")],
                   [lauren, amber, laurex], set(), 10)
    assert even.roots[0] == even.roots[1] != even.roots[2]


# --- the engine on small frames ---------------------------------------------------------------

def people(*rows):
    cols = ["id", "first_name", "last_name", "email", "phone", "street", "city", "postcode"]
    return build(pd.DataFrame([dict(zip(cols, r, strict=False)) for r in rows]), "id")


def test_household_members_sharing_a_mailbox_and_landline_stay_apart():
    frame = people(
        ("a1", "Иван", "Петров", "petrovy.family@mail.ru", "+74951234567", "ул. Ленина, д. 5, кв. 7", "Москва", "101000"),
        ("a2", "Ivan", "Petrov", "ivan.petrov@yandex.ru", "+74951234567", "ul. Lenina, d. 5, kv. 7", "Moskva", "101000"),
        ("b1", "Мария", "Петрова", "petrovy.family@mail.ru", "+74951234567", "ул. Ленина, д. 5, кв. 7", "Москва", "101000"),
        ("b2", "Maria", "Petrova", "m.petrova@gmail.com", "+7 (495) 123-45-67", None, None, None),
        ("c1", "Maria", "Petrova", "M.Petrova@GMAIL.com ", None, None, None, None),
    )
    result = matching.match(frame, CONFIG)
    groups = {}
    for uid, root in zip(result.ids, result.clusters.roots, strict=True):
        groups.setdefault(root, set()).add(uid)
    assert sorted(map(sorted, groups.values())) == [["a1", "a2"], ["b1", "b2", "c1"]]
    assert any(r == "given names contradict" for _e, r in result.clusters.refused) or all(
        e.rule != "model" or {result.ids[e.left], result.ids[e.right]} != {"a1", "b1"} for e in result.clusters.accepted)


# --- stable ids ---------------------------------------------------------------------------------

def test_ids_survive_growth_and_record_merges_splits_and_retirements():
    previous = {"r1": "C1", "r2": "C1", "r3": "C2", "r4": "C3", "r5": "C3", "r6": "C3", "r9": "C9"}
    # C1 and C2 merge (C1 holds more), C3 splits (r4 leaves), r7 is new, r9 was deleted
    members = {0: ["r1", "r2", "r3"], 1: ["r5", "r6", "r7"], 2: ["r4"], 3: ["r8"]}
    assigned, history = ids.assign(members, previous)
    assert assigned[0] == "C1" and assigned[1] == "C3"
    assert assigned[2] not in previous.values() and assigned[3] not in previous.values()
    changes = {(h["old_customer_id"], h["new_customer_id"], h["change"]) for h in history}
    assert ("C2", "C1", "merged") in changes
    assert ("C3", assigned[2], "split") in changes
    assert ("C9", None, "retired") in changes
    assert (None, assigned[3], "new") in changes
    assert len(set(assigned.values())) == 4


def test_a_new_id_never_reuses_an_old_one():
    previous = {"a": ids.new_customer_id("a"), "b": "CX"}
    assigned, _ = ids.assign({0: ["b"], 1: ["a", "z"], 2: ["a2"]}, {"b": "CX", "z": "CX"})
    assert len(set(assigned.values())) == 3
    assigned, _ = ids.assign({0: ["a"], 1: ["b"]}, {"b": previous["a"]})
    assert assigned[1] == previous["a"] and assigned[0] != previous["a"]


# --- survivorship and consent -------------------------------------------------------------------

def record(source, rid, updated, **fields):
    return {"source": source, "stream": "s", "record_id": rid, "source_updated_at": updated, **fields}


def test_survivorship_rules_and_lineage():
    rules = golden.field_rules({"priority": ["crm", "shop"], "fields": {
        "first_name": "most_complete", "last_name": "most_frequent", "phone": "most_recent", "email": "source_priority"}})
    records = [record("shop", "1", T0, first_name="A.", last_name="Ivanova", phone="+71", email="shop@x.ru"),
               record("crm", "2", T0 - timedelta(days=9), first_name="Anna", last_name="Ivanova", phone="+72",
                      email="crm@x.ru"),
               record("shop", "3", T0 + timedelta(days=1), first_name=None, last_name="Ivanov", phone="+73", email=None)]
    values, lineage = golden.golden(records, rules)
    assert values == {"first_name": "Anna", "last_name": "Ivanova", "phone": "+73", "email": "crm@x.ru"}
    assert {(row["field"], row["record_id"], row["rule"]) for row in lineage} == {
        ("first_name", "2", "most_complete"), ("last_name", "1", "most_frequent"), ("phone", "3", "most_recent"),
        ("email", "2", "source_priority")}
    with pytest.raises(golden.SurvivorshipError, match="unknown rule"):
        golden.field_rules({"priority": [], "fields": {"phone": "loudest"}})


CONSENT = load_yaml("survivorship.yaml")["consent"]


def fact(status, days, explicit=True):
    return {"status": status, "recorded_at": T0 + timedelta(days=days), "explicit": explicit}


def test_an_opt_out_anywhere_wins_unless_a_newer_explicit_opt_in_follows():
    assert golden.consent([fact("subscribed", 1), fact("unsubscribed", 5)], CONSENT)[0] == "unsubscribed"
    assert golden.consent([fact("subscribed", 5), fact("opted_out", 9)], CONSENT)[0] == "opted_out"
    assert golden.consent([fact("unsubscribed", 1), fact("subscribed", 5)], CONSENT)[0] == "subscribed"
    # a newer opt-in that is only a stated status (not an explicit act) does not undo an opt-out
    assert golden.consent([fact("unsubscribed", 1), fact("subscribed", 5, explicit=False)], CONSENT)[0] == "unsubscribed"
    assert golden.consent([], CONSENT)[0] == "unknown"


# --- the resolve stage on a real warehouse -------------------------------------------------------

def person(source, rid, first, last, email=None, phone=None, updated=T0, consent="unknown", **extra):
    from include.normalise import email_match_key, translit_key

    return {"source": source, "stream": "customers", "record_id": rid, "first_name": first, "last_name": last,
            "name_key": translit_key(f"{first}{last}"), "email": email, "email_match_key": email_match_key(email),
            "phone": phone, "email_consent": consent, "source_updated_at": updated, "run_id": "stage-1", **extra}


def seed_people(engine, rows):
    with engine.begin() as conn:
        conn.execute(person_records.delete())
        append_rows(conn, person_records, [complete(r) for r in rows])


def complete(row):
    return {c.name: row.get(c.name) for c in person_records.columns}


BASE = [
    person("woocommerce", "1", "Анна", "Смирнова", "anna.smirnova@mail.ru", "+79161234567",
           address_line1="ул. Ленина, д. 1", city="Москва", postcode="101000"),
    person("legacy_crm", "c-1", "Anna", "Smirnova", " Anna.Smirnova@Mail.ru", None, updated=T0 + timedelta(days=3),
           consent="opted_out"),
    person("mailchimp", "m-1", "Anna", "Smirnova", "anna.smirnova@mail.ru", None, consent="subscribed",
           email_consent_at=T0 + timedelta(days=1)),
    person("woocommerce", "2", "Boris", "Smirnov", "smirnovy.family@mail.ru", "+74950000001"),
    person("quickbooks", "7", "Vera", "Smirnova", "smirnovy.family@mail.ru", "+74950000001"),
    person("quickbooks", "8", "Vera", "Smirnova", "vera.s@yandex.ru", "+74950000001"),
]


def clusters_of(engine):
    with engine.connect() as conn:
        rows = conn.execute(sa.select(customer_sources.c.customer_id, customer_sources.c.source,
                                      customer_sources.c.record_id)).all()
    out = {}
    for cid, source, rid in rows:
        out.setdefault(cid, set()).add(f"{source}/{rid}")
    return out


def test_resolve_writes_customers_evidence_lineage_and_consent(engine, no_overrides):
    seed_people(engine, BASE)
    stats = resolve(engine, "run-1")
    groups = sorted(map(sorted, clusters_of(engine).values()))
    assert groups == [["legacy_crm/c-1", "mailchimp/m-1", "woocommerce/1"], ["quickbooks/7", "quickbooks/8"],
                      ["woocommerce/2"]]
    assert stats["mode"] == "full" and stats["customers"] == 3
    with engine.connect() as conn:
        anna = conn.execute(sa.select(customers).where(customers.c.sources == "legacy_crm,mailchimp,woocommerce")).mappings().one()
        assert anna["email_consent"] == "opted_out" and anna["can_email"] is False  # the CRM opt-out wins
        lineage = {r.field: r.source for r in conn.execute(sa.select(customer_field_lineage).where(
            customer_field_lineage.c.customer_id == anna["customer_id"]))}
        assert lineage["phone"] == "woocommerce" and lineage["email"] == "mailchimp"
        links = conn.execute(sa.select(customer_links.c.rule).where(
            customer_links.c.customer_id == anna["customer_id"])).scalars().all()
        assert len(links) == 2 and all(rule.startswith("rule:") for rule in links)
        assert conn.execute(sa.select(sa.func.count()).select_from(identity_models)).scalar() == 1
        new_ids = conn.execute(sa.select(sa.func.count()).select_from(customer_id_history).where(
            customer_id_history.c.change == "new")).scalar()
        assert new_ids == 3


def _rebuilt_tables(engine) -> dict[str, list[tuple]]:
    """The rows a full run rebuilds, without the run id and write time."""
    out = {}
    with engine.connect() as conn:
        for table in (customers, customer_sources, customer_links, customer_field_lineage):
            columns = [c for c in table.c if c.name not in ("run_id", "updated_at")]
            out[table.name] = sorted(tuple(map(str, row)) for row in conn.execute(sa.select(*columns)))
    return out


def test_a_full_run_written_in_chunks_rebuilds_the_same_tables(engine, no_overrides, monkeypatch):
    """A full run writes each chunk of customers as it is built, into tables it emptied first: a
    second full run over the first one's rows, in chunks of one or two customers, leaves exactly the
    rows a run written in one piece leaves."""
    from include.identity import resolve as resolution

    seed_people(engine, BASE)
    resolve(engine, "run-1")
    in_one_piece = _rebuilt_tables(engine)
    assert len(in_one_piece["customers"]) == 3 and len(in_one_piece["customer_sources"]) == 6
    for chunk in (1, 2):
        monkeypatch.setattr(resolution, "WRITE_CHUNK", chunk)
        assert resolve(engine, f"run-chunks-{chunk}", retrain=True)["mode"] == "full"
        assert _rebuilt_tables(engine) == in_one_piece


def test_a_full_run_leaves_postgresql_statistics_of_what_it_wrote(engine, no_overrides):
    """Autovacuum would refresh them only a while after the commit (and not at all for a table this
    small); until then PostgreSQL plans the next run's deletes by customer id as scans."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL planner statistics; SQLite plans without them")
    seed_people(engine, BASE)
    resolve(engine, "run-1")
    tables = (customers, customer_sources, customer_links, customer_field_lineage)
    with engine.connect() as conn:
        counted = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in tables}
        planned = dict(conn.execute(sa.text("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(:names)"),
                                    {"names": list(counted)}).all())
    assert all(counted.values())
    assert planned == {name: float(count) for name, count in counted.items()}


def test_an_explicit_resubscribe_after_the_opt_out_wins(engine, no_overrides):
    seed_people(engine, BASE)
    with engine.begin() as conn:
        append_rows(conn, consents, [{"source": "mailchimp", "stream": "unsubscribes", "record_id": "e1",
                                      "contact_stream": "members", "contact_record_id": "m-1",
                                      "email": "anna.smirnova@mail.ru", "email_match_key": "anna.smirnova@mail.ru",
                                      "channel": "email", "status": "subscribed", "explicit": True,
                                      "recorded_at": T0 + timedelta(days=30), "run_id": "stage-1"}])
    resolve(engine, "run-1")
    with engine.connect() as conn:
        status = conn.execute(sa.select(customers.c.email_consent).where(
            customers.c.sources == "legacy_crm,mailchimp,woocommerce")).scalar()
    assert status == "subscribed"


def test_incremental_run_rescored_only_changes_and_keeps_ids(engine, no_overrides):
    seed_people(engine, BASE)
    resolve(engine, "run-1")
    before = clusters_of(engine)
    stats = resolve(engine, "run-2")
    assert stats["mode"] == "incremental" and stats["records_rescored"] == 0
    assert clusters_of(engine) == before
    # a new record with Anna's phone joins her customer, under her id
    with engine.begin() as conn:
        append_rows(conn, person_records, [complete(person("quickbooks", "9", "Anya", "Smirnova", None, "+79161234567"))])
    stats = resolve(engine, "run-3")
    # the new record, and the one holding the phone it shares (the phone's guard is checked again)
    assert stats["mode"] == "incremental" and stats["records_rescored"] == 2
    after = clusters_of(engine)
    anna_id = next(cid for cid, recs in before.items() if "woocommerce/1" in recs)
    assert after[anna_id] == before[anna_id] | {"quickbooks/9"}
    assert stats["customers_rewritten"] == 1  # only Anna's customer was written again
    assert stats["customer_ids_kept"] == 3  # hers and the two customers the run left alone
    with engine.connect() as conn:
        untouched = conn.execute(sa.select(customers.c.run_id).where(customers.c.customer_id != anna_id)).scalars()
        assert set(untouched) == {"run-1"}


def test_overrides_split_and_must_link_apply_on_every_run(engine, no_overrides):
    seed_people(engine, BASE)
    resolve(engine, "run-1")
    anna_id = next(cid for cid, recs in clusters_of(engine).items() if "woocommerce/1" in recs)
    from include.identity.commands import split

    assert split(engine, anna_id, ["mailchimp/customers/m-1"], "two people") == 0
    assert "mailchimp/customers/m-1" in no_overrides.read_text()
    overrides.add("must_link", [("woocommerce|customers|2", "quickbooks|customers|8")], "same person")
    resolve(engine, "run-2")
    groups = sorted(map(sorted, clusters_of(engine).values()))
    assert ["mailchimp/m-1"] in groups
    assert ["legacy_crm/c-1", "woocommerce/1"] in groups
    # a must-link is a manual decision: it overrides the name guard and pulls Vera's cluster in
    assert any({"woocommerce/2", "quickbooks/8"} <= set(g) for g in groups)
    with engine.connect() as conn:
        changes = set(conn.execute(sa.select(customer_id_history.c.change).where(
            customer_id_history.c.run_id == "run-2")).scalars())
        refused = conn.execute(sa.select(sa.func.count()).select_from(identity_issues).where(
            identity_issues.c.run_id == "run-2", identity_issues.c.kind == "refused_link")).scalar()
    assert {"split", "merged"} <= changes
    assert refused >= 1


def test_explain_and_simulate_print_the_evidence(engine, no_overrides, capsys, tmp_path):
    from include.identity.commands import explain, simulate

    seed_people(engine, BASE)
    resolve(engine, "run-1")
    anna_id = next(cid for cid, recs in clusters_of(engine).items() if "woocommerce/1" in recs)
    assert explain(engine, anna_id) == 0
    out = capsys.readouterr().out
    assert "rule:email" in out and "legacy_crm/customers/c-1" in out and "(most_recent)" in out
    strict = load_yaml("matching.yaml")
    strict["people"]["deterministic"] = []
    strict["people"]["threshold_match_weight"] = 60
    config = tmp_path / "strict.yaml"
    import yaml

    config.write_text(yaml.safe_dump(strict), encoding="utf-8")
    assert simulate(engine, config) == 0
    out = capsys.readouterr().out
    assert "would split" in out and anna_id in out
    assert clusters_of(engine)  # nothing was written by the simulation
    assert explain(engine, "C000000000000") == 1


def test_the_model_is_reused_until_retrained(engine, no_overrides, capsys):
    from include.identity.commands import retrain

    seed_people(engine, BASE)
    resolve(engine, "run-1")
    resolve(engine, "run-2")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(identity_models)).scalar() == 1
    assert retrain(engine) == 0
    assert "model retrained" in capsys.readouterr().out
    with engine.connect() as conn:
        rows = conn.execute(sa.select(identity_models.c.run_id, identity_models.c.active)
                            .order_by(identity_models.c.trained_at)).all()
    assert [active for _run, active in rows] == [False, True] and rows[1][0].startswith("retrain-")


def test_a_source_cross_reference_links_records_nothing_else_would(engine, no_overrides):
    seed_people(engine, [
        person("woocommerce", "77", "Sasha", "Orlova", "sasha.o@yandex.ru", "+79160000077"),
        person("legacy_crm", "c-77", "Alexandra", "Orlova", "a.orlova@firm.ru", None, stream="contacts",
               linked_record_id="77"),
        person("legacy_crm", "c-78", "Alexandra", "Orlova", "al.orlova@firm.ru", None, stream="contacts",
               linked_record_id="999"),  # points to a record that does not exist: no link
    ])
    stats = resolve(engine, "run-1")
    groups = sorted(map(sorted, clusters_of(engine).values()))
    assert ["legacy_crm/c-77", "woocommerce/77"] in groups and ["legacy_crm/c-78"] in groups
    assert stats["links_by_rule"] == {"rule:crm_shop_customer": 1}


def test_an_incremental_run_takes_a_deleted_record_out_of_its_customer(engine, no_overrides):
    """Anna's Mailchimp record is deleted at the source. Nothing her other records hold changed, and
    the CRM opt-out still decides her consent, yet her customer is written again without it, under
    her id; no other customer is touched."""
    seed_people(engine, BASE + CROWD)
    resolve(engine, "run-1")
    before = clusters_of(engine)
    anna_id = next(cid for cid, recs in before.items() if "woocommerce/1" in recs)
    with engine.begin() as conn:
        conn.execute(person_records.delete().where(person_records.c.record_id == "m-1"))
    stats = resolve(engine, "run-2")
    assert stats["mode"] == "incremental" and stats["customers_rewritten"] == 1
    assert clusters_of(engine) == before | {anna_id: before[anna_id] - {"mailchimp/m-1"}}
    assert stats["customer_ids_kept"] == len(before)
    with engine.connect() as conn:
        anna = conn.execute(sa.select(customers.c.record_count, customers.c.sources, customers.c.email_consent,
                                      customers.c.run_id).where(customers.c.customer_id == anna_id)).one()
    assert tuple(anna) == (2, "legacy_crm,woocommerce", "opted_out", "run-2")


CROWD = [person("woocommerce", f"w{i}", first, last, f"{first.lower()}.{last.lower()}@example.org", f"+7916555{i:04d}")
         for i, (first, last) in enumerate((f, s) for f in ("Oleg", "Irina", "Pavel", "Daria", "Semyon")
                                           for s in ("Orlov", "Belov", "Zaitsev", "Volkov", "Sokolov", "Lebedev"))]


def test_an_incremental_run_reclusters_only_what_changes_reach_and_agrees_with_a_full_run(engine, no_overrides):
    seed_people(engine, BASE + CROWD)
    resolve(engine, "run-1")
    oleg = next(r for r in CROWD if r["first_name"] == "Oleg" and r["last_name"] == "Orlov")
    irina = next(r for r in CROWD if r["first_name"] == "Irina" and r["last_name"] == "Belov")
    with engine.begin() as conn:
        # a new record with Anna's phone; Oleg moved (a field no match reads); Irina unsubscribed
        # in Mailchimp (a consent fact, her records unchanged)
        append_rows(conn, person_records, [complete(person("quickbooks", "9", "Anya", "Smirnova", None, "+79161234567"))])
        conn.execute(person_records.update().where(person_records.c.record_id == oleg["record_id"])
                     .values(region="Tverskaya oblast"))
        append_rows(conn, consents, [{"source": "mailchimp", "stream": "unsubscribes", "record_id": "u-9",
                                      "email": irina["email"], "email_match_key": irina["email_match_key"],
                                      "channel": "email", "status": "unsubscribed", "explicit": True,
                                      "recorded_at": T0 + timedelta(days=40), "run_id": "stage-2"}])
    stats = resolve(engine, "run-2")
    # scored again: the new record and the one holding the phone it shares, Oleg's and Irina's (each
    # the only holder of its email and phone)
    assert stats["mode"] == "incremental" and stats["records_rescored"] == 4
    assert stats["features_computed"] == 2  # the new record and Oleg's; the rest come from the feature cache
    # Anna's customer (3 records + the new one), Oleg's and Irina's: nothing else was clustered again
    assert stats["records_reclustered"] == 6
    assert stats["customers_rewritten"] == 3
    incremental = clusters_of(engine)
    with engine.connect() as conn:
        by_record = dict(conn.execute(sa.select(customer_sources.c.record_id, customer_sources.c.customer_id)).all())
        region = conn.execute(sa.select(customers.c.region).where(
            customers.c.customer_id == by_record[oleg["record_id"]])).scalar()
        can_email = conn.execute(sa.select(customers.c.can_email, customers.c.email_consent).where(
            customers.c.customer_id == by_record[irina["record_id"]])).one()
    assert region == "Tverskaya oblast"
    assert tuple(can_email) == (False, "unsubscribed")
    assert by_record["9"] == by_record["1"]
    # forgetting every fingerprint forces a full clustering with the same model: the same customers
    with engine.begin() as conn:
        conn.execute(customer_sources.update().values(fingerprint=None))
    stats = resolve(engine, "run-3")
    assert stats["mode"] == "full" and stats["records_reclustered"] == len(BASE + CROWD) + 1
    assert stats["features_computed"] == 0
    assert clusters_of(engine) == incremental


def test_cycle_collection_is_paused_during_a_run_and_restored_after_it_even_on_error():
    import gc

    from include.identity import without_cycle_collection

    seen = []

    @without_cycle_collection
    def run(fail: bool) -> str:
        seen.append(gc.isenabled())
        if fail:
            raise ValueError("boom")
        return "done"

    assert gc.isenabled()
    assert run(False) == "done"
    with pytest.raises(ValueError, match="boom"):
        run(True)
    assert seen == [False, False] and gc.isenabled()
    gc.disable()  # a caller that paused it itself keeps it paused
    try:
        run(False)
        assert not gc.isenabled()
    finally:
        gc.enable()



def test_cycles_a_block_leaves_are_collected_and_what_lived_before_is_not_left_frozen():
    import gc
    import weakref

    from include.identity import collected_after

    class Node:
        pass

    def cycle() -> weakref.ref:
        node = Node()
        node.me = node
        return weakref.ref(node)

    gc.disable()  # as during a run
    try:
        before = cycle()  # garbage from before the block is not looked at by its collection
        with collected_after():
            assert gc.get_freeze_count() > 0
            during = cycle()
        assert during() is None and before() is not None
        assert gc.get_freeze_count() == 0
        gc.freeze()  # frozen by someone else (Airflow before it forks): left frozen, still collected
        try:
            with collected_after():
                during = cycle()
            assert during() is None and gc.get_freeze_count() > 0
        finally:
            gc.unfreeze()
    finally:
        gc.enable()
        gc.collect()
    assert before() is None

def account(record_id, name):
    from include.normalise import company_key

    return {"source": "legacy_crm", "stream": "accounts", "record_id": record_id, "name": name,
            "name_key": company_key(name), "country": "US", "source_updated_at": T0, "run_id": "stage-1"}


def company_of_customer(engine, record_id):
    """The company of the customer holding that person record."""
    with engine.connect() as conn:
        return conn.execute(sa.select(customers.c.company_id).join(
            customer_sources, customer_sources.c.customer_id == customers.c.customer_id).where(
            customer_sources.c.record_id == record_id)).scalar_one()


def test_an_incremental_run_rebuilds_a_customer_whose_company_changed_though_its_records_did_not(engine, no_overrides):
    from include.warehouse.schema import company_records

    # the contact's account is Acme; it also names Globex, which counts once the Acme account is gone
    contact = person("legacy_crm", "c-9", "Peter", "Walsh", "peter.walsh@example.org", None,
                     company="Globex", company_record_id="a-1", country="US")
    seed_people(engine, BASE + [contact])
    with engine.begin() as conn:
        append_rows(conn, company_records, [account("a-1", "Acme Inc."), account("a-2", "Globex LLC")])
    resolve(engine, "run-1")

    def company_named(name):
        from include.warehouse.schema import companies
        with engine.connect() as conn:
            return conn.execute(sa.select(companies.c.company_id).where(companies.c.name == name)).scalar_one()

    assert company_of_customer(engine, "c-9") == company_named("Acme Inc.")
    with engine.begin() as conn:
        conn.execute(company_records.delete().where(company_records.c.record_id == "a-1"))
    stats = resolve(engine, "run-2")
    assert stats["mode"] == "incremental" and stats["records_rescored"] == 0
    assert stats["customers_rewritten"] == 1  # Peter's: his records are as they were
    assert company_of_customer(engine, "c-9") == company_named("Globex LLC")


def test_an_incremental_run_clears_the_company_of_a_customer_whose_company_is_gone(engine, no_overrides):
    from include.warehouse.schema import company_records

    contact = person("legacy_crm", "c-9", "Peter", "Walsh", "peter.walsh@example.org", None,
                     company_record_id="a-1", country="US")  # his account, and no company name of his own
    seed_people(engine, BASE + [contact])
    with engine.begin() as conn:
        append_rows(conn, company_records, [account("a-1", "Acme Inc.")])
    resolve(engine, "run-1")

    assert company_of_customer(engine, "c-9") is not None
    with engine.begin() as conn:
        conn.execute(company_records.delete())
    stats = resolve(engine, "run-2")
    assert stats["mode"] == "incremental" and stats["customers_rewritten"] == 1
    assert company_of_customer(engine, "c-9") is None


def test_an_identifier_a_change_frees_from_the_shared_limit_links_its_remaining_holders_as_a_full_run_would(
        engine, no_overrides):
    # one landline on three people: over the limit, so it links no one; then Clara moves
    phone = "+74951112233"
    rows = BASE + [
        person("woocommerce", "s-1", "Anna", "Sokolova", "anna.sokolova@yandex.ru", phone),
        person("mailchimp", "s-2", "Anya", "Sokolova", "anya.s@gmail.com", phone),
        person("quickbooks", "s-3", "Boris", "Lebedev", "b.lebedev@mail.ru", phone),
        person("legacy_crm", "s-4", "Clara", "Weiss", "clara.weiss@example.org", phone),
    ]
    seed_people(engine, rows)
    resolve(engine, "run-1")
    before = clusters_of(engine)
    assert {"woocommerce/s-1"} in before.values() and {"mailchimp/s-2"} in before.values()
    with engine.begin() as conn:
        conn.execute(person_records.update().where(person_records.c.record_id == "s-4").values(phone="+74957778899"))
    stats = resolve(engine, "run-2")
    assert stats["mode"] == "incremental"
    incremental = clusters_of(engine)
    # the landline now belongs to two people (Anna/Anya and Boris): it links Anna's two records
    assert {"woocommerce/s-1", "mailchimp/s-2"} in incremental.values()
    with engine.begin() as conn:
        conn.execute(customer_sources.update().values(fingerprint=None))
    resolve(engine, "run-3")
    assert sorted(map(sorted, clusters_of(engine).values())) == sorted(map(sorted, incremental.values()))


def test_a_run_that_fails_before_its_commit_leaves_the_feature_cache_as_it_was(engine, no_overrides, monkeypatch):
    from include.identity import companies, feature_cache

    seed_people(engine, BASE)
    resolve(engine, "run-1")
    path = feature_cache.path_for(engine)
    saved = path.read_bytes()
    with engine.begin() as conn:
        conn.execute(person_records.update().where(person_records.c.record_id == "1").values(phone="+79160000001"))

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(companies, "write", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        resolve(engine, "run-2")
    assert path.read_bytes() == saved  # the old phone is still what the record held "before"
    monkeypatch.undo()
    stats = resolve(engine, "run-3")
    assert stats["mode"] == "incremental" and stats["features_computed"] == 1
    assert path.read_bytes() != saved


def test_the_run_counts_customers_merges_sources_and_guest_only_customers():
    """What a run reports over every customer, visited or not: five records in three customers."""
    from include.identity.resolve import _cluster_shape

    nodes = [{"source": "woocommerce"}, {"source": "mailchimp"}, {"source": "woocommerce", "guest": True},
             {"source": "woocommerce"}, {"source": "woocommerce", "guest": True},
             {"source": "woocommerce", "guest": True}]
    roots = [0, 0, 0, 3, 4, 4]  # a person in two sources with a guest order; one alone; two guest orders
    counts = [0 if n.get("guest") else 1 for n in nodes]
    assert _cluster_shape(nodes, counts, roots) == {
        "contact_records": 3, "guest_orders": 3, "customers": 3, "customers_from_guest_orders_only": 1,
        "duplicates_merged": 1, "multi_source_customers": 1, "largest_cluster": 2}


def test_equally_strong_model_links_are_taken_in_one_order_whatever_order_splink_returns_them():
    """Splink's DuckDB threads return scored pairs in varying order. Among links of equal weight
    the order decides which is taken and which refused, so it must not come from there: the same
    records give the same customers and the same evidence on every run."""
    ids = ["a|x|1", "b|x|2", "c|x|3"]
    scored = pd.DataFrame({"unique_id_l": ["a|x|1", "b|x|2"], "unique_id_r": ["c|x|3", "c|x|3"],
                           "match_weight": [12.5, 12.5], "match_probability": [0.9998, 0.9998],
                           "mw_name": [0.0, 0.0], "mw_address": [12.5, 12.5]})
    position = {uid: i for i, uid in enumerate(ids)}
    names = [("anna", "orlova"), ("olga", "orlova"), None]  # the third record has no given name

    def taken(frame: pd.DataFrame) -> tuple[list[int], list[tuple[int, int]]]:
        result = cluster(3, matching.model_edges(frame, position, {}), names, set(), 10)
        return result.roots, [(e.left, e.right) for e in result.accepted]

    assert taken(scored) == taken(scored.iloc[::-1].reset_index(drop=True))


def test_a_record_hashes_by_its_values_not_by_which_objects_hold_them():
    """Equal records hash equal even when one holds one string object in two fields (a cache, an
    interned key) and the other two equal copies; any changed value, type or missing value differs."""
    from include.identity.resolve import content_hashes

    shared = "Maria Ivanova"
    copy = "".join(["Maria ", "Ivanova"])
    assert copy is not shared
    base = {"source": "shop", "record_id": "1", "first_name": shared, "last_name": shared, "phone": None}
    same = {"source": "shop", "record_id": "1", "first_name": shared, "last_name": copy, "phone": None}
    variants = [{**base, "phone": ""}, {**base, "record_id": 1}, {**base, "last_name": "Maria Ivanov"},
                {**base, "first_name": None}]
    hashes = content_hashes([base, same, *variants]).tolist()
    assert hashes[0] == hashes[1]
    assert len(set(hashes[1:])) == len(hashes) - 1
    assert content_hashes([]).tolist() == []


def test_a_record_with_a_server_drivers_dates_and_decimals_hashes_as_alone():
    """PostgreSQL's driver gives dates and decimals, which marshal cannot pack: such a record still
    hashes, each value counts, and no record's hash depends on the others read with it."""
    from datetime import date
    from decimal import Decimal

    from include.identity.resolve import content_hashes

    plain = {"record_id": "1", "first_name": "Ivan"}
    dated = {"record_id": "2", "date_of_birth": date(1990, 5, 1), "amount": Decimal("1.10")}
    hashes = content_hashes([plain, dated, {**dated, "date_of_birth": date(1990, 5, 2)},
                             {**dated, "amount": Decimal("1.1")}]).tolist()
    assert len(set(hashes)) == 4
    assert content_hashes([plain]).tolist() == hashes[:1]
    assert content_hashes([dated]).tolist() == hashes[1:2]
    # the same text as a string is another value; a decimal where the rows before held none, and
    # a record without any, hash as they do alone, in any order
    texted = {**dated, "date_of_birth": "1990-05-01"}
    late = {"record_id": "3", "date_of_birth": None, "amount": Decimal("2.5")}
    undated = {"record_id": "4", "date_of_birth": None, "amount": None}
    batch = [dated, texted, late, undated]
    alone = [content_hashes([r]).tolist()[0] for r in batch]
    assert len(set(alone)) == 4
    assert content_hashes(batch).tolist() == alone
    assert content_hashes(batch[::-1]).tolist() == alone[::-1]
