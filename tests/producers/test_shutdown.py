"""SIGTERM/SIGINT stop a producer through its stop event; a second signal aborts."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from producers.shutdown import stop_on_signals


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_sets_the_stop_event(signum: signal.Signals) -> None:
    before = signal.getsignal(signum)
    with stop_on_signals(threading.Event()) as stop:
        os.kill(os.getpid(), signum)
        assert stop.wait(5)
    assert signal.getsignal(signum) is before  # handlers restored


def test_a_second_signal_aborts() -> None:
    with stop_on_signals(threading.Event()) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0.2)  # let the handler run


def test_outside_the_main_thread_no_handler_is_installed() -> None:
    seen: list[object] = []

    def body() -> None:
        with stop_on_signals(threading.Event()) as stop:
            seen.append(signal.getsignal(signal.SIGTERM))
            seen.append(stop.is_set())

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [signal.getsignal(signal.SIGTERM), False]
