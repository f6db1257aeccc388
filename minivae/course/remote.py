"""The grader's side of its worker: a submission's functions, called in another process.

A `Worker` starts `python -m minivae.course.worker`, hands it a `submission.Plan`, and gives the
functions that the plan defined as `RemoteFunction`s, which a check calls like any learner
function (`verdict.call` -> `invoke`). Each call sends the check's arguments and waits for the
Outcome: plain values read by `wire.receive`, which cannot run code here. Whatever the
submission does, in its statements or its functions, happens in the worker; its verdict is
decided here.

Everything has one deadline: the plan's statements and every call must finish within the
worker's `timeout`, or it is killed and the check stops with `WorkerFailed`, as it does when
the worker dies or sends something that is not a message.
"""

import queue
import subprocess
import sys
import tempfile
import threading
import time

from minivae.course import built, wire
from minivae.course.built import Built
from minivae.course.invoke import Callee, Outcome


class WorkerFailed(Exception):
    """The worker timed out, died, or broke the protocol: the exercise's grade is "error"."""


class Worker:
    """A worker process that has run a submission's plan; a context manager that ends it."""

    def __init__(self, plan, functions, timeout):
        self.deadline, self.timeout = time.monotonic() + timeout, timeout
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "minivae.course.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.stderr)
        self.replies = queue.Queue(maxsize=1)  # a worker that sends unasked waits, unread
        threading.Thread(target=self.read, daemon=True).start()
        self.send({"cells": plan.cells, "run": plan.run, "functions": list(functions)})
        self.problems, defined = setup_of(self.next_reply(), functions)
        self.functions = {name: RemoteFunction(self, name, defined[name]) if name in defined
                          else None for name in functions}

    def read(self):
        """The reader thread: each message of the worker, then None when its stdout closes."""
        try:
            while (message := wire.receive(self.process.stdout)) is not None:
                self.replies.put(message)
            self.replies.put(None)
        except (wire.ProtocolError, OSError, ValueError) as error:
            self.replies.put(error)

    def send(self, message):
        try:
            wire.send(self.process.stdin, message)
        except (BrokenPipeError, OSError):
            raise WorkerFailed(self.ended()) from None

    def next_reply(self):
        try:
            reply = self.replies.get(timeout=max(0.0, self.deadline - time.monotonic()))
        except queue.Empty:
            self.close()
            raise WorkerFailed(f"timed out after {self.timeout:g} s (an answer that never "
                               "returns?)") from None
        if reply is None:
            raise WorkerFailed(self.ended())
        if isinstance(reply, Exception):
            self.close()
            raise WorkerFailed(f"the worker process sent something that is not a message: "
                               f"{reply}")
        return reply

    def ended(self):
        """Why the worker is gone: its exit status and the last line it wrote to stderr."""
        try:
            status = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.close()
            status = self.process.returncode
        self.stderr.seek(0)
        last = self.stderr.read().decode(errors="replace").strip().split("\n")[-1]
        return (f"the worker process ended with exit status {status}"
                + (f"; the last line it wrote: {last[:200]!r}" if last else ""))

    def call(self, name, args, backward=None):
        self.send({"function": name, "args": tuple(args), "backward": backward})
        return outcome_of(self.next_reply(), args)

    def close(self):
        """End the worker: let it read the end of its input, kill it if it does not stop."""
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=1)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        self.stderr.close()


class RemoteFunction(Callee):
    """A function the worker holds, as a check calls it."""

    def __init__(self, worker, name, parameters):
        self.worker, self.name = worker, name
        self.parameters = parameters  # as invoke.parameters gives them, or None

    def invoke(self, args, backward=None):
        outcome = self.worker.call(self.name, args, backward)
        if not all(0 <= i < len(args) for i in outcome.mutated):
            raise WorkerFailed("the worker process named an argument that was not passed")
        return outcome


def outcome_of(reply, args=()):
    """The worker's reply as an Outcome, its fields' types checked (`built`: one read-back of
    each Built argument, as `built.read_back` makes them)."""
    error, mutated, ran = reply.get("error"), reply.get("mutated"), reply.get("ran")
    read, failed, strays = reply.get("built"), reply.get("backward"), reply.get("strays")
    well_formed = (
        is_error(error)
        and isinstance(mutated, tuple) and all(isinstance(i, int) for i in mutated)
        and isinstance(ran, tuple) and all(isinstance(r, str) for r in ran)
        and isinstance(reply.get("profiler_replaced"), bool)
        and built.well_formed(read) and len(read) == sum(isinstance(a, Built) for a in args)
        and is_error(failed)
        and isinstance(strays, tuple) and all(isinstance(s, tuple) and all(
            isinstance(n, int) for n in s) for s in strays))
    if not well_formed:
        raise WorkerFailed("the worker process sent a reply that is not an outcome")
    return Outcome(reply.get("result"), error, mutated, ran, reply["profiler_replaced"], read,
                   failed, strays)


def is_error(value):
    """() or (exception type name, message), as invoke reports an exception."""
    return isinstance(value, tuple) and len(value) in (0, 2) and all(
        isinstance(e, str) for e in value)


KINDS = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD", "VAR_POSITIONAL", "KEYWORD_ONLY",
         "VAR_KEYWORD")


def setup_of(reply, functions):
    """(problems, {name: parameters}) from the worker's first reply, types checked: a name the
    submission does not define as a function is left out; one whose parameters Python could not
    tell has None."""
    problems, defined = reply.get("problems"), reply.get("functions")
    if not (isinstance(problems, list) and all(isinstance(p, str) for p in problems)
            and isinstance(defined, dict) and set(defined) == set(functions)):
        raise WorkerFailed("the worker process sent a first reply that is not one")
    described = {}
    for name, about in defined.items():
        if about is None:
            continue
        parameters = about.get("parameters") if isinstance(about, dict) else ()
        if parameters is not None and not (isinstance(parameters, tuple) and all(
                isinstance(p, tuple) and len(p) == 3 and isinstance(p[0], str)
                and p[1] in KINDS and isinstance(p[2], bool) for p in parameters)):
            raise WorkerFailed(f"the worker process described {name} in a way it cannot")
        described[name] = parameters
    return problems, described
