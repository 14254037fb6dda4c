"""TxnGate: readers share it; a map resize gets it alone, never while a reader is inside."""

import threading

from sentinel_adapters.storage._txn_gate import TxnGate


def test_exclusive_waits_for_a_reader_in_another_thread() -> None:
    gate = TxnGate()
    inside, leave = threading.Event(), threading.Event()

    def reader() -> None:
        with gate.shared():
            inside.set()
            leave.wait()

    thread = threading.Thread(target=reader)
    thread.start()
    inside.wait()
    with gate.exclusive(timeout=0) as alone:
        assert not alone  # the reader is still inside
    leave.set()
    thread.join()
    with gate.exclusive(timeout=None) as alone:
        assert alone


def test_a_thread_knows_it_holds_the_gate_and_may_nest_reads() -> None:
    gate = TxnGate()
    assert not gate.held_here()
    with gate.shared():
        with gate.shared():
            assert gate.held_here()
        assert gate.held_here()
    assert not gate.held_here()
    with gate.exclusive(timeout=0) as alone:
        assert alone
