"""LMDB under process crashes, concurrent readers and a full disk.

    writer process (python -c WRITER)          this test process
      loop: append one batch, print its number    reads the same environment meanwhile,
      holds a read transaction it never ends      then kill -9s the writer at a random moment

After each kill the environment is reopened and must be consistent: whole batches only (a batch is
one transaction), every batch the writer reported as committed present, the id index and the
alerts agreeing, and writing possible again. A process that kept the environment open meanwhile
clears the dead writer's reader slot with ``reader_check``.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sentinel_adapters.storage import LmdbAlertStore, LmdbEnvironment, codec
from sentinel_ports.alert_store import AlertQuery

BATCH = 25
WRITER = """
import sys
from sentinel_adapters.storage import LmdbAlertStore, LmdbEnvironment
from sentinel_testkit.contracts.alert_store import T0, make_alert

path, first, map_size, pin = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "pin"
env = LmdbEnvironment(path, map_size=map_size)  # the default durability settings
store = LmdbAlertStore(env)
if pin:
    pinned = env.read()
    pinned.__enter__()  # a reader that dies with the process: its slot goes stale
print("ready", flush=True)
for batch in range(first, first + 1_000_000):
    alerts = [make_alert(0, ts=T0 + batch * 1_000 + i, id=f"b{batch}-{i}") for i in range({batch_size})]
    if store.append(alerts) == {batch_size}:
        print(batch, flush=True)
""".replace("{batch_size}", str(BATCH))


def start_writer(path: Path, first: int, map_size: int, pin: bool) -> subprocess.Popen[str]:
    """The writer, from batch ``first``; with ``pin`` it also holds a read transaction open."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(first), str(map_size), "pin" if pin else "-"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def read_batches(proc: subprocess.Popen[str], at_least: int, timeout: float = 60.0) -> list[int]:
    """Committed batch numbers the writer reports, until ``at_least`` more (bounded in time)."""
    assert proc.stdout is not None
    deadline, seen = time.monotonic() + timeout, []
    while len(seen) < at_least and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(int(line))
    assert len(seen) >= at_least, f"writer reported {len(seen)} batches in {timeout}s"
    return seen


def kill(proc: subprocess.Popen[str]) -> list[int]:
    """kill -9, then the batch numbers it had reported but we had not read yet."""
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return [int(line) for line in rest.split()]


def check_consistent(path: Path, map_size: int, committed: list[int], evicting: bool) -> int:
    """Reopen and check everything; returns the newest batch stored."""
    env = LmdbEnvironment(path, map_size=map_size)
    store = LmdbAlertStore(env)
    stored = store.query(AlertQuery(limit=10**9)).alerts
    by_batch: dict[int, int] = {}
    for alert in stored:
        batch = int(alert.id[1:].split("-")[0])
        by_batch[batch] = by_batch.get(batch, 0) + 1
    # Atomicity: whole batches only (eviction removes the oldest alerts, so the oldest stored
    # batch may be partial when evicting).
    newest = max(by_batch)
    complete = [b for b in sorted(by_batch) if b != min(by_batch) or not evicting]
    assert all(by_batch[b] == BATCH for b in complete), by_batch
    # Durability: every batch reported committed is there (or was evicted as older data).
    assert newest >= max(committed)
    assert sorted(by_batch) == list(range(min(by_batch), newest + 1))
    # The two sub-databases agree: one id entry per alert, each pointing at its alert.
    with env.read() as txn:
        assert txn.stat(env.database("alert_ids"))["entries"] == len(stored)
        for alert in stored[:: max(1, len(stored) // 200)]:
            key = txn.get(codec.key_string(alert.id), db=env.database("alert_ids"))
            assert key is not None and codec.decode_alert(txn.get(key, db=env.database("alerts"))) == alert
    env.close()
    return newest


def test_kill_9_mid_write_keeps_every_committed_batch_and_readers_never_block(tmp_path: Path) -> None:
    path, map_size, rng = tmp_path / "db", 1 << 30, random.Random(5)
    next_batch = 0
    for round_no in range(3):
        writer = start_writer(path, next_batch, map_size, pin=True)
        committed = read_batches(writer, 10)
        reader = None
        if round_no == 0:
            # A second process reads while the writer writes: its snapshot is stable, and the
            # writer keeps committing while the snapshot is held.
            reader = LmdbEnvironment(path, map_size=map_size)
            alerts_db = reader.database("alerts")
            with reader.read() as snapshot:
                before = snapshot.stat(alerts_db)["entries"]
                committed += read_batches(writer, 20)
                assert snapshot.stat(alerts_db)["entries"] == before
                assert (max(committed) + 1) * BATCH > before  # committed while the snapshot was held
            with reader.read() as fresh:
                assert fresh.stat(alerts_db)["entries"] >= (max(committed) + 1) * BATCH
        time.sleep(rng.uniform(0.0, 0.05))  # somewhere inside a commit, most likely
        committed += kill(writer)
        if reader is not None:
            # The environment stayed open here, so the dead writer's pinned reader slot is still
            # taken (a last user closing would reset the table); reader_check frees it.
            assert reader.reader_check() >= 1
            assert reader.reader_check() == 0
            reader.close()
        next_batch = check_consistent(path, map_size, committed, evicting=False) + 1
    store = LmdbAlertStore.open(path)
    assert store.append([store.query(AlertQuery(limit=1)).alerts[0]]) == 0  # already stored
    assert store.count() == next_batch * BATCH
    store.close()


def test_kill_9_while_evicting_in_a_tiny_map(tmp_path: Path) -> None:
    path, map_size = tmp_path / "db", 1 << 20  # the smallest map LmdbEnvironment accepts
    next_batch = 0
    for delay in (0.3, 0.45, 0.6):
        # No pinned reader here: in a map this small it would hold the pages eviction needs.
        writer = start_writer(path, next_batch, map_size, pin=False)
        committed = read_batches(writer, 100)  # well past the point where evictions start
        time.sleep(delay / 10)
        committed += kill(writer)
        next_batch = check_consistent(path, map_size, committed, evicting=True) + 1


DISK_FULL = """
import json, os, subprocess, sys
mount_point = sys.argv[1]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount_point], check=True)
from sentinel_adapters.storage import LmdbAlertStore, LmdbEnvironment, LmdbRuleStore
from sentinel_testkit.contracts.alert_store import T0, make_alert

calls = []
env = LmdbEnvironment(os.path.join(mount_point, "db"), map_size=64 << 20, on_storage_full=calls.append)
store, rules = LmdbAlertStore(env), LmdbRuleStore(env)
results, last = [], []
for batch in range(300):  # about 3 MiB of alerts onto a 1 MiB file system
    last = [make_alert(0, ts=T0 + batch * 100 + i, id=f"b{batch}-{i}", message="m" * 200) for i in range(20)]
    results.append(store.append(last))
print(json.dumps({
    "results": results, "store": store.stats(), "env": env.stats(), "calls": calls,
    "newest": [store.get(a.id) == a for a in last],
    "free_bytes": os.statvfs(mount_point).f_bavail * os.statvfs(mount_point).f_frsize,
    "rule_put": rules.put("firewall", "after-full", {"id": "after-full"}),
}))
"""


def test_a_full_disk_evicts_and_never_raises(tmp_path: Path) -> None:
    """A 1 MiB tmpfs, mounted in a private mount namespace (the host's mounts never change)."""
    mount_point = tmp_path / "small-fs"
    mount_point.mkdir()
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", DISK_FULL, str(mount_point)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["free_bytes"] < 1 << 20  # the file system really did fill up
    assert report["env"]["disk_full_errors"] >= 1
    assert report["calls"] == ["disk_full"]
    assert report["store"]["evicted"] > 0
    assert all(report["newest"])
    assert report["results"][-50:] == [20] * 50  # steady state: every batch stored after evicting
    assert report["store"]["dropped"] == 20 * report["results"].count(0)
    assert report["rule_put"] is True
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    assert not any(line.split()[4:5] == [str(mount_point)] for line in mounts)  # gone with the namespace
