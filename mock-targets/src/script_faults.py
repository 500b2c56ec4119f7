#!/usr/bin/env python3
"""The script connector's fault shim (mock-targets/src/script.rs): runs between ecma-host and the
program it wraps, and plays the faults a test controller asks for.

    script_faults.py HOST:PORT PROGRAM [ARGUMENT ...]

For each request the host sends (one JSON line in session mode, ECMA_SCRIPT_SESSION=1; the whole
of standard input otherwise), the shim sends the request's line to the controller at HOST:PORT
and reads one JSON line back, what to do:

    {"action": "pass"}                                   hand the request to PROGRAM
    {"action": "answer", "kind": K, "message": M, "delay": S}
                                                         wait S seconds, answer the whole
                                                         operation failed with kind K
    {"action": "late", "delay": S}                       hand it on, answer S seconds late
    {"action": "drop"}                                   end without an answer
    {"action": "dropAfter"}                              hand it on, then end without an answer

PROGRAM runs once per request in per-operation mode, and once for the session in session mode,
with the shim's environment, standard error and working directory. A controller that cannot be
reached or answers nonsense ends the shim with exit status 1 (the host answers 503): a fault
that was asked for is never passed over in silence.

Only Python's standard library is used (json, os, socket, subprocess, sys, time).
"""

import json
import os
import socket
import subprocess
import sys
import time

EXIT_OPERATION_FAILED = 3


def fail(message):
    sys.stderr.write("script_faults: %s\n" % message)
    sys.stderr.flush()
    sys.exit(1)


class Controller:
    def __init__(self, address):
        host, _, port = address.rpartition(":")
        try:
            self.sock = socket.create_connection((host, int(port)), timeout=30)
        except (OSError, ValueError) as e:
            fail("the fault controller at %s cannot be reached: %s" % (address, e))
        self.reader = self.sock.makefile("rb")

    def ask(self, line):
        try:
            self.sock.sendall(line.rstrip(b"\n") + b"\n")
            answer = self.reader.readline()
            decision = json.loads(answer)
        except (OSError, ValueError) as e:
            fail("the fault controller did not answer: %s" % e)
        if not isinstance(decision, dict) or "action" not in decision:
            fail("the fault controller answered %r" % answer)
        return decision


def failure(decision):
    time.sleep(float(decision.get("delay", 0)))
    return json.dumps(
        {"error": {"kind": decision.get("kind", "unavailable"),
                   "message": decision.get("message", "injected")}}
    )


def session(controller, command):
    program = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        decision = controller.ask(line)
        action = decision["action"]
        if action == "answer":
            sys.stdout.write(failure(decision) + "\n")
            sys.stdout.flush()
            continue
        if action == "drop":
            program.kill()
            sys.exit(0)
        program.stdin.write(line if line.endswith(b"\n") else line + b"\n")
        program.stdin.flush()
        answer = program.stdout.readline()
        if not answer.endswith(b"\n"):
            fail("the program ended the session" + (" mid-line" if answer else ""))
        if action == "dropAfter":
            program.kill()
            sys.exit(0)
        if action == "late":
            time.sleep(float(decision.get("delay", 0)))
        sys.stdout.buffer.write(answer)
        sys.stdout.flush()
    program.stdin.close()
    sys.exit(program.wait())


def once(controller, command):
    request = sys.stdin.buffer.read()
    # One line for the controller, as in session mode; JSON or not, the program answers it.
    decision = controller.ask(request.replace(b"\r", b" ").replace(b"\n", b" "))
    action = decision["action"]
    if action == "answer":
        sys.stdout.write(failure(decision) + "\n")
        sys.exit(EXIT_OPERATION_FAILED)
    if action == "drop":
        sys.exit(1)
    done = subprocess.run(command, input=request, stdout=subprocess.PIPE)
    if action == "dropAfter":
        sys.exit(1)
    if action == "late":
        time.sleep(float(decision.get("delay", 0)))
    sys.stdout.buffer.write(done.stdout)
    sys.exit(done.returncode)


def main():
    if len(sys.argv) < 3:
        fail("usage: script_faults.py HOST:PORT PROGRAM [ARGUMENT ...]")
    controller = Controller(sys.argv[1])
    command = sys.argv[2:]
    if os.environ.get("ECMA_SCRIPT_SESSION") == "1":
        session(controller, command)
    else:
        once(controller, command)


if __name__ == "__main__":
    main()
