"""What every RuleStore must do, and the YAML merge precedence, checked only through the port.

Subclass once per implementation with a one-line ``make_rule_store(directory)``.
"""

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentinel_ports.rule_store import PersistedRule, RuleStore, merge_rules


def fw(rule_id: str, priority: int = 10, action: str = "deny") -> dict[str, object]:
    return {"id": rule_id, "priority": priority, "action": action, "protocol": "tcp", "dst_port": "22"}


class RuleStoreContract:
    @staticmethod
    def make_rule_store(directory: Path) -> RuleStore:
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[RuleStore]:
        subject = self.make_rule_store(tmp_path / "store")
        yield subject
        subject.close()

    def test_put_then_read_back(self, store: RuleStore) -> None:
        assert store.put("firewall", "b", fw("b")) is True
        assert store.put("firewall", "a", fw("a", 5)) is True
        assert store.put("l7", "a", {"id": "a", "protocol": "http", "path": "/admin"}) is True
        assert store.get("firewall", "a") == PersistedRule("firewall", "a", fw("a", 5))
        assert [r.rule_id for r in store.all("firewall")] == ["a", "b"]  # rule id order
        assert [r.rule for r in store.all("l7")] == [{"id": "a", "protocol": "http", "path": "/admin"}]
        assert store.components() == ["firewall", "l7"]
        assert store.all("ips") == []
        assert store.get("ips", "a") is None

    def test_put_replaces(self, store: RuleStore) -> None:
        store.put("firewall", "a", fw("a", action="deny"))
        store.put("firewall", "a", fw("a", action="allow"))
        records = store.all("firewall")
        assert len(records) == 1
        assert records[0].rule == fw("a", action="allow")

    def test_delete_leaves_a_tombstone_and_put_lifts_it(self, store: RuleStore) -> None:
        store.put("ratelimit", "r", {"id": "r", "rate": 10})
        assert store.delete("ratelimit", "r") is True
        tomb = store.get("ratelimit", "r")
        assert tomb is not None and tomb.is_tombstone and tomb.rule is None
        assert store.delete("ratelimit", "yaml-only") is True  # deleting a rule only the YAML has
        assert [(r.rule_id, r.is_tombstone) for r in store.all("ratelimit")] == [
            ("r", True),
            ("yaml-only", True),
        ]
        store.put("ratelimit", "r", {"id": "r", "rate": 20})
        revived = store.get("ratelimit", "r")
        assert revived is not None and revived.rule == {"id": "r", "rate": 20}

    def test_discard_forgets_the_record(self, store: RuleStore) -> None:
        store.delete("firewall", "a")
        store.put("firewall", "b", fw("b"))
        assert store.discard("firewall", "a") is True
        assert store.discard("firewall", "a") is False
        assert store.discard("l7", "b") is False
        assert [r.rule_id for r in store.all("firewall")] == ["b"]

    def test_rules_are_copies(self, store: RuleStore) -> None:
        rule = fw("a")
        store.put("firewall", "a", rule)
        rule["action"] = "allow"
        first = store.get("firewall", "a")
        assert first is not None and first.rule == fw("a")

    def test_rules_without_an_id_field_are_kept_under_their_key(self, store: RuleStore) -> None:
        store.put("ips", "sig-7", {"mode": "block"})
        assert [r.rule for r in store.all("ips")] == [{"mode": "block"}]

    @pytest.mark.parametrize(
        ("component", "rule_id", "rule"),
        [
            ("firewall", "a", {"id": "b"}),  # id disagrees with the key
            ("", "a", {"id": "a"}),
            ("firewall", "", {}),
            ("firewall", "a", {"id": "a", "ports": {22, 23}}),  # a set is not JSON
            ("firewall", "a", {"id": "a", "weight": math.nan}),  # NaN is not JSON
        ],
        ids=["mismatched id", "empty component", "empty id", "set value", "nan"],
    )
    def test_invalid_rules_are_rejected(
        self, store: RuleStore, component: str, rule_id: str, rule: dict[str, object]
    ) -> None:
        with pytest.raises(ValueError):
            store.put(component, rule_id, rule)
        assert store.components() == []

    def test_unusual_ids(self, store: RuleStore) -> None:
        long_a, long_b = "x" * 600 + "a", "x" * 600 + "b"  # beyond any key size limit
        for rule_id in ("ünï-✓", "with space", long_a, long_b, "a\x00b"):
            store.put("l7", rule_id, {"id": rule_id})
        got = store.all("l7")
        assert [r.rule_id for r in got] == sorted(["ünï-✓", "with space", long_a, long_b, "a\x00b"])
        record = store.get("l7", long_b)
        assert record is not None and record.rule == {"id": long_b}

    def test_merge_precedence_with_the_yaml(self, store: RuleStore) -> None:
        yaml_rules = [fw("a", 1), fw("b", 2), fw("c", 3), fw("d", 4)]
        store.put("firewall", "b", fw("b", 2, action="allow"))  # API change of a YAML rule
        store.delete("firewall", "c")  # API deletion of a YAML rule
        store.put("firewall", "z", fw("z", 9))  # API-only rules
        store.put("firewall", "m", fw("m", 8))
        store.delete("firewall", "q")  # tombstone for an id the YAML does not have (yet)
        store.put("l7", "a", {"id": "a"})  # another component: no effect here
        merged = merge_rules(yaml_rules, store.all("firewall"))
        assert merged == [fw("a", 1), fw("b", 2, action="allow"), fw("d", 4), fw("m", 8), fw("z", 9)]
        # The YAML later gains "q" and changes "b": the API's word still wins.
        later_yaml = [fw("a", 1), fw("b", 99), fw("c", 3), fw("d", 4), fw("q", 5)]
        later = merge_rules(later_yaml, store.all("firewall"))
        assert [rule["id"] for rule in later] == ["a", "b", "d", "m", "z"]
        assert later[1] == fw("b", 2, action="allow")
        # Discarding the API record hands the id back to the YAML.
        store.discard("firewall", "c")
        assert [rule["id"] for rule in merge_rules(yaml_rules, store.all("firewall"))] == [
            "a",
            "b",
            "c",
            "d",
            "m",
            "z",
        ]
