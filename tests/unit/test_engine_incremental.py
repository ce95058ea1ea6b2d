"""The engine's last-snapshot memos (agent/engine/__init__.py ``_judge``, matching.ListMemo) never go stale.

Each case replays steps that keep some of the previous step's lists (the very
same record objects, as the replay reader and the collectors hand them over)
while changing something else: a window, one record in place, the time and
the user's choice, the policy, the platform. Every verdict must equal that of
an engine that forgets everything before each step; and each case also checks
the verdicts differ where the change matters, so a memo answering for the
previous step would fail it.
"""

from __future__ import annotations

import dataclasses
from typing import List

from agent.engine import Engine, EnginePolicy
from agent.engine.matching import ListMemo
from agent.model import ProcessInfo, Snapshot, UserEvent, Verdict, WindowInfo
from agent.signatures.loader import load_signatures

SIGS = load_signatures()

DESKTOP = tuple(ProcessInfo(1000 + i, f"svc{i}.exe", create_time=1.0e9 + i) for i in range(40)) + (
    ProcessInfo(5000, "chrome.exe", create_time=1.0e9),
    ProcessInfo(6000, "ToDesk.exe", exe=r"C:\Program Files\ToDesk\ToDesk.exe", create_time=1.0e9),
    ProcessInfo(6001, "rustdesk.exe", cmdline=("rustdesk.exe", "--cm"), create_time=1.0e9 + 5),
)
NOTEPAD = tuple(WindowInfo(f"Document {i} - Notepad", pid=1000 + i) for i in range(10))
BANK = WindowInfo("中国工商银行 - 个人网上银行 - Google Chrome", pid=5000)


class Fresh(Engine):
    """Judges every snapshot from scratch: every memo is dropped first."""

    def evaluate(self, snapshot: Snapshot) -> Verdict:
        self.set_policy(self.policy)
        return super().evaluate(snapshot)


def step(t: float, processes=DESKTOP, windows=NOTEPAD, events=(), platform="windows") -> Snapshot:
    return Snapshot(platform=platform, time=t, processes=processes, windows=windows,
                    events=tuple(UserEvent(e) for e in events))


def both(steps: List[Snapshot], policy=None) -> List[Verdict]:
    """The verdicts of a remembering engine, checked against a forgetting one."""
    engine, fresh = Engine(SIGS, policy), Fresh(SIGS, policy)
    got = [engine.evaluate(s) for s in steps]
    assert got == [fresh.evaluate(s) for s in steps]
    return got


def test_same_processes_and_a_new_window_is_judged_again():
    got = both([step(0), step(1, windows=NOTEPAD + (BANK,)), step(2)])
    assert [v.level for v in got] == ["notice", "block", "none"]  # notice: the remote tools are new
    assert got[1].alert and got[1].sensitive[0].id == "icbc"


def test_one_record_changed_in_place_among_the_same_objects():
    # Same length, same objects but one: a service that turns into a remote tool.
    quiet = tuple(p for p in DESKTOP if p.pid < 6000)
    renamed = quiet[:3] + (ProcessInfo(1003, "rustdesk.exe", cmdline=("rustdesk.exe", "--cm"),
                                       create_time=1.0e9 + 3),) + quiet[4:]
    got = both([step(0, quiet, NOTEPAD + (BANK,)), step(1, renamed, NOTEPAD + (BANK,)),
                step(2, quiet, NOTEPAD + (BANK,))])
    assert [v.alert for v in got] == [False, True, False]
    assert got[1].freeze_pids == (1003,)


def test_equal_records_that_are_other_objects_give_the_same_verdicts():
    copies = tuple(dataclasses.replace(p) for p in DESKTOP)
    got = both([step(0, windows=NOTEPAD + (BANK,)), step(1, copies, NOTEPAD + (BANK,))])
    assert got[0].shares == got[1].shares and got[0].sensitive == got[1].sensitive


def test_a_snooze_and_its_end_between_identical_steps():
    windows = NOTEPAD + (BANK,)
    got = both([step(0, windows=windows), step(1, windows=windows, events=["continue"]),
                step(2, windows=windows), step(700, windows=windows)])
    assert [v.level for v in got] == ["block", "warning", "warning", "block"]
    assert got[2].snoozed and not got[3].snoozed


def test_stop_sharing_then_the_same_lists_again():
    windows = NOTEPAD + (BANK,)
    got = both([step(0, windows=windows, events=["stop_sharing"]), step(1, windows=windows)])
    assert got[0].end_pids and got[1].alert  # the engine ends nothing itself: the next step still sees them


def test_first_seen_is_announced_once_over_identical_steps():
    got = both([step(0), step(1), step(2)])
    assert got[0].first_seen and not got[1].first_seen and not got[2].first_seen


def test_a_policy_change_between_identical_steps():
    windows = NOTEPAD + (BANK,)
    engine = Engine(SIGS)
    first = engine.evaluate(step(0, windows=windows))
    engine.set_policy(EnginePolicy(trusted_apps=("todesk", "rustdesk")))
    trusted = engine.evaluate(step(1, windows=windows))
    engine.set_policy(EnginePolicy(mode="monitor"))
    monitored = engine.evaluate(step(2, windows=windows))
    assert first.alert and not trusted.alert
    assert [s.app for s in trusted.shares if s.trusted] == ["rustdesk", "todesk"]
    assert not monitored.alert and monitored.mode == "monitor" and "log" in monitored.actions
    assert trusted == Fresh(SIGS, EnginePolicy(trusted_apps=("todesk", "rustdesk"))).evaluate(step(1, windows=windows))


def test_a_policy_replaced_without_set_policy_is_still_seen():
    windows = NOTEPAD + (BANK,)
    engine = Engine(SIGS)
    assert engine.evaluate(step(0, windows=windows)).alert
    engine.policy = EnginePolicy(trusted_apps=("todesk", "rustdesk"))
    assert not engine.evaluate(step(1, windows=windows)).alert


def test_the_same_lists_on_another_platform():
    # Linux names are exact: "ToDesk.exe" and "rustdesk.exe" are no remote tools there.
    windows = NOTEPAD + (BANK,)
    got = both([step(0, windows=windows), step(1, windows=windows, platform="linux"),
                step(2, windows=windows)])
    assert [v.alert for v in got] == [True, False, True]


def test_a_list_changed_in_place_is_not_taken_for_the_last_one():
    # Snapshot lists are tuples, but a caller passing a list and then changing it must not get a stale verdict.
    processes = list(DESKTOP)
    windows = list(NOTEPAD + (BANK,))
    engine = Engine(SIGS)
    assert engine.evaluate(step(0, processes, windows)).alert
    del processes[-2:]  # the remote tools end
    windows.pop()       # and the bank page closes
    assert engine.evaluate(step(1, processes, windows)).level == "none"


def test_list_memo_looks_only_at_records_it_has_not_seen():
    looked: List[int] = []

    def per_item(n: ProcessInfo):
        looked.append(n.pid)
        return (n.pid,) if n.pid % 2 else ()

    memo: ListMemo[int] = ListMemo(per_item)
    records = tuple(ProcessInfo(i, f"p{i}") for i in range(6))
    assert memo(records) == (1, 3, 5) and looked == list(range(6))
    assert memo(tuple(dataclasses.replace(r) for r in records)) == (1, 3, 5) and len(looked) == 6  # equal list
    new = ProcessInfo(7, "p7")
    assert memo((new,) + records[1:4]) == (7, 1, 3) and looked[6:] == [7]  # only the new record
    assert memo(records[1:4] + (ProcessInfo(1, "other"),)) == (1, 3, 1) and looked[7:] == [1]
    memo.clear()
    assert memo(records[:2]) == (1,) and looked[8:] == [0, 1]


# -- indexes shared between engines on the same signature set (agent/engine shared_indexes) -------

def test_engines_on_one_signature_set_share_its_indexes_and_nothing_else():
    a, b = Engine(SIGS), Engine(SIGS)
    assert a.compiled("windows") is b.compiled("windows")
    assert a.compiled("linux") is not a.compiled("windows")
    # Session state stays each engine's own: both announce the new remote tools, a snooze in one is not in the other.
    windows = NOTEPAD + (BANK,)
    first_a = a.evaluate(step(0, windows=windows, events=["continue"]))
    first_b = b.evaluate(step(0, windows=windows))
    assert first_a.first_seen == first_b.first_seen == ("rustdesk", "todesk")
    assert first_a.level == "warning" and first_b.level == "block"
    assert b.evaluate(step(1, windows=windows)).alert and not a.evaluate(step(1, windows=windows)).alert


def test_another_signature_set_gets_its_own_indexes():
    other = dataclasses.replace(SIGS, sensitive=tuple(s for s in SIGS.sensitive if s.id != "icbc"))
    mine, theirs = Engine(SIGS), Engine(other)
    assert mine.compiled("windows") is not theirs.compiled("windows")
    windows = NOTEPAD + (BANK,)
    assert mine.evaluate(step(0, windows=windows)).sensitive[0].id == "icbc"
    assert all(f.id != "icbc" for f in theirs.evaluate(step(0, windows=windows)).sensitive)
    theirs.set_signatures(SIGS)
    assert theirs.compiled("windows") is mine.compiled("windows")


def test_engines_in_threads_sharing_indexes_judge_as_fresh_engines():
    import threading

    quiet = tuple(p for p in DESKTOP if p.pid < 6000)
    variants = [step(0, windows=NOTEPAD + (BANK,)), step(0, quiet, NOTEPAD + (BANK,)), step(0),
                step(0, windows=NOTEPAD[:3] + (BANK,), platform="linux")]
    # What the shared indexes decide (session state aside): the graded shares and the findings.
    want = [(v.shares, v.sensitive, v.mentions) for v in map(Fresh(SIGS).evaluate, variants)]
    assert len(set(want)) == len(variants)
    wrong: List[int] = []

    def judge(offset: int) -> None:
        engine = Engine(SIGS)
        for i in range(200):
            k = (i + offset) % len(variants)
            got = engine.evaluate(dataclasses.replace(variants[k], time=float(i)))
            if (got.shares, got.sensitive, got.mentions) != want[k]:
                wrong.append(k)

    threads = [threading.Thread(target=judge, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong


class _OnlyLists:
    """A snapshot that answers only the fields Engine._judge keys its memo on."""

    KEYED = ("processes", "windows", "connections", "capture", "devices", "pages")

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def __getattr__(self, name: str):
        if name not in self.KEYED:
            raise AssertionError(f"the grader or matcher read snapshot.{name}: add it to Engine._judge's memo key")
        return getattr(self._snapshot, name)


def test_grading_and_finding_read_only_the_lists_the_memo_is_keyed_on():
    snapshot = step(0, windows=NOTEPAD + (BANK,), events=["continue"])
    grader, matcher = Engine(SIGS).compiled("windows")
    procs_by_pid = {p.pid: p for p in snapshot.processes}
    view = _OnlyLists(snapshot)
    shares = grader.grade(view, procs_by_pid)
    found = matcher.find(view.windows, view.processes, procs_by_pid, view.pages)
    assert {s.app for s in shares} == {"rustdesk", "todesk", "chrome"} and found[0]


def test_random_step_sequences_judge_as_a_forgetting_engine():
    """Differential: random walks over a desktop (records kept, dropped, added, renamed in place, as new
    equal objects; windows opened and closed; user choices; time jumps past the snooze; a platform
    switch; a policy change) give, step for step, the verdicts of an engine that forgets everything."""
    import random

    rng = random.Random(13)
    extra_procs = [
        ProcessInfo(7000, "Zoom.exe", create_time=2.0e9), ProcessInfo(7001, "CptHost.exe", create_time=2.0e9),
        ProcessInfo(6002, "AnyDesk.exe", create_time=2.0e9), ProcessInfo(5001, "msedge.exe", create_time=2.0e9),
        ProcessInfo(1005, "TeamViewer.exe", create_time=2.0e9 + 7),  # a pid reused by another program
    ]
    extra_windows = [
        BANK, WindowInfo("Bank reconciliation.xlsx - Excel", pid=1001),
        WindowInfo("招商银行 - Microsoft\u200b Edge", pid=5001), WindowInfo("Zoom Meeting", pid=7000),
        WindowInfo("You are screen sharing", pid=7000, wm_class="ZPFloatToolbarClass"),
        WindowInfo("Chase | Sign in - Google Chrome", pid=5000, visible=False),
    ]
    policies = [EnginePolicy(), EnginePolicy(mode="strict"), EnginePolicy(trusted_apps=("zoom",)),
                EnginePolicy(mode="monitor", snooze_minutes=1)]
    levels = set()
    for walk in range(40):
        policy = rng.choice(policies)
        engine, fresh = Engine(SIGS, policy), Fresh(SIGS, policy)
        procs, windows, t, platform = list(DESKTOP), list(NOTEPAD), 0.0, "windows"
        for _ in range(12):
            move = rng.random()
            if move < 0.2:
                procs.append(rng.choice(extra_procs))
            elif move < 0.3 and len(procs) > 3:
                del procs[rng.randrange(len(procs))]
            elif move < 0.4:
                i = rng.randrange(len(procs))
                procs[i] = dataclasses.replace(procs[i])  # an equal record that is another object
            elif move < 0.6:
                windows.append(rng.choice(extra_windows))
            elif move < 0.7 and windows:
                del windows[rng.randrange(len(windows))]
            elif move < 0.75:
                platform = rng.choice(["windows", "linux", "darwin"])
            elif move < 0.8:
                policy = rng.choice(policies)
                engine.set_policy(policy)
                fresh.set_policy(policy)
            t += rng.choice([1.0, 2.0, 700.0])
            events = [rng.choice(["continue", "stop_sharing", "dismiss"])] if rng.random() < 0.25 else []
            snapshot = step(t, tuple(procs), tuple(windows), events, platform)
            verdict = engine.evaluate(snapshot)
            assert verdict == fresh.evaluate(snapshot), (walk, snapshot)
            levels.add(verdict.level)
    assert levels == {"none", "notice", "warning", "block"}
