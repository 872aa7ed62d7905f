"""Self-check of tf_oracle.Worker, run by `make conformance` before the cases: a worker that
hangs (as TF once did while printing an abort's stack trace) must cost one case, reported as a
crash, not the whole run. The worker is stopped with SIGSTOP, so it neither answers nor dies;
the case must come back as a crash within the (shortened) timeout and the next case must run
in a fresh worker. A worker that never reports ready must make _start fail, not wait. Exits
non-zero if not."""
import multiprocessing as mp
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import configs  # noqa: E402
import tf_oracle  # noqa: E402


def give_up(signum, frame):
    print("worker_check: FAIL: Worker.run still waits on the hung worker after 60 s")
    for child in mp.active_children():  # the stopped worker must not outlive the check
        child.kill()
    os._exit(1)


def main():
    tf_oracle.CASE_TIMEOUT_S = 5
    signal.signal(signal.SIGALRM, give_up)
    signal.alarm(60)  # TF's import in the fresh worker takes about 5 s
    worker = tf_oracle.Worker()
    worker._start()
    cfg = configs.generate(1, 0)
    data = configs.tensors(cfg, 1, 0)
    os.kill(worker.proc.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    res = worker.run([(0, cfg, data), (1, cfg, data)])
    took = time.monotonic() - t0
    worker.close()
    signal.alarm(0)
    problems = []
    if res.get(0, ("",))[0] != "crash":
        problems.append(f"the hung case came back as {res.get(0)!r}, not a crash")
    if res.get(1, ("crash",))[0] == "crash":
        problems.append(f"the case after it did not run in a fresh worker: {res.get(1)!r}")
    if worker.restarts != 1:
        problems.append(f"{worker.restarts} restarts, want 1")
    # a worker that never gets ready: _start must give up and leave no process behind
    tf_oracle.START_TIMEOUT_S = 0.05  # TF's import alone takes seconds
    late = tf_oracle.Worker()
    try:
        late._start()
        problems.append("a worker silent past START_TIMEOUT_S was taken as started")
    except RuntimeError:
        pass
    if mp.active_children():
        problems.append("the worker that did not start is still running")
    for p in problems:
        print("worker_check: FAIL: " + p)
    if problems:
        return 1
    print(f"worker_check: a hung TF worker was killed after {took:.1f} s and replaced; "
          "one that never started was given up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
