from include.identity import assign_ids, cluster, new_customer_id

CONFIG = {"match_on": ["email_match_key", "phone", "phone_alt"],
          "blocklist": {"email_match_key": ["test@test.com"], "phone": ["+70000000000"]}}


def rec(rid, email=None, phone=None, phone_alt=None, source="s"):
    return {"source": source, "stream": "c", "record_id": rid, "email_match_key": email, "phone": phone,
            "phone_alt": phone_alt}


def test_shared_email_or_phone_links_transitively():
    nodes = [rec("1", email="a@x.ru"), rec("2", email="a@x.ru", phone="+79120000001"),
             rec("3", phone_alt="+79120000001"), rec("4", email="b@x.ru")]
    roots, evidence = cluster(nodes, CONFIG)
    assert roots[0] == roots[1] == roots[2] != roots[3]
    assert evidence[1].startswith("email_match_key shared with s|c|1")
    assert evidence[3] == "single record"


def test_blocklisted_identifiers_never_link():
    nodes = [rec("1", email="test@test.com"), rec("2", email="test@test.com"),
             rec("3", phone="+70000000000"), rec("4", phone="+70000000000")]
    roots, _ = cluster(nodes, CONFIG)
    assert len(set(roots)) == 4


def test_ids_stay_stable_when_a_cluster_grows_and_new_ones_are_deterministic():
    previous = {"s|c|1": "C1", "s|c|2": "C1", "s|c|9": "C9"}
    ids = assign_ids({0: ["s|c|1", "s|c|2", "s|c|3"], 5: ["s|c|5"]}, previous)
    assert ids[0] == "C1"
    assert ids[5] == new_customer_id("s|c|5")


def test_when_two_clusters_merge_the_larger_keeps_its_id_and_no_id_is_reused():
    previous = {"a": "C1", "b": "C1", "c": "C2"}
    ids = assign_ids({0: ["a", "b", "c"]}, previous)
    assert ids == {0: "C1"}
    split = assign_ids({0: ["a"], 1: ["b", "c"]}, {"a": "C1", "b": "C1", "c": "C1"})
    assert sorted(split.values()) == sorted({"C1", split[0] if split[0] != "C1" else split[1]})
    assert len(set(split.values())) == 2 and split[1] == "C1"


def test_every_record_of_a_joined_cluster_names_its_evidence():
    nodes = [rec("1", email="a@x.ru"), rec("2", email="a@x.ru")]
    _roots, evidence = cluster(nodes, CONFIG)
    assert evidence == ["email_match_key shared with s|c|2", "email_match_key shared with s|c|1"]
