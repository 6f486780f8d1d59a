#!/usr/bin/python3
"""A Mesos framework written with pymesos (a third-party client) against the local cluster.

It subscribes in JSON, reserves resources for its role, launches a task on them, acknowledges
every status update explicitly and prints a JSON summary on stdout.

Usage: pymesos_framework.py <master host:port>
"""

import json
import logging
import sys
import threading

from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler

ROLE = "pymesos-role"
PRINCIPAL = "pymesos-principal"
TASK_ID = "pymesos-task"


def scalar(name, value, reserved):
    r = {"name": name, "type": "SCALAR", "scalar": {"value": value}}
    if reserved:
        r["role"] = ROLE
        r["reservation"] = {"principal": PRINCIPAL}
    return r


class InteropScheduler(Scheduler):
    def __init__(self):
        self.framework_id = None
        self.reserved = False
        self.launched = False
        self.states = []
        self.acked = 0
        self.errors = []
        self.done = threading.Event()

    def registered(self, driver, framework_id, master_info):
        self.framework_id = framework_id["value"]

    def resourceOffers(self, driver, offers):
        for offer in offers:
            if self.launched:
                driver.declineOffer(offer.id, filters={"refuse_seconds": 3600})
                continue
            if not self.reserved:
                driver.acceptOffers(
                    [offer.id],
                    [{"type": "RESERVE", "reserve": {"resources": [
                        scalar("cpus", 0.5, True), scalar("mem", 64, True)]}}],
                    filters={"refuse_seconds": 0},
                )
                self.reserved = True
                continue
            mine = [r for r in offer.resources
                    if r.get("role") == ROLE and r.get("reservation", {}).get("principal") == PRINCIPAL]
            cpus = sum(r.scalar.value for r in mine if r.name == "cpus")
            mem = sum(r.scalar.value for r in mine if r.name == "mem")
            if cpus >= 0.5 and mem >= 64:
                task = {
                    "task_id": {"value": TASK_ID},
                    "agent_id": offer.agent_id,
                    "name": TASK_ID,
                    "resources": [scalar("cpus", 0.5, True), scalar("mem", 64, True)],
                    "command": {"value": "echo hello from pymesos"},
                }
                driver.acceptOffers(
                    [offer.id],
                    [{"type": "LAUNCH", "launch": {"task_infos": [task]}}],
                    filters={"refuse_seconds": 3600},
                )
                self.launched = True
            else:
                driver.declineOffer(offer.id, filters={"refuse_seconds": 0})

    def statusUpdate(self, driver, update):
        if update.task_id.value != TASK_ID:
            return
        self.states.append(update.state)
        if "uuid" in update:
            driver.acknowledgeStatusUpdate(update)
            self.acked += 1
        if update.state == "TASK_FINISHED":
            self.done.set()
        elif update.state in ("TASK_FAILED", "TASK_LOST", "TASK_ERROR", "TASK_KILLED", "TASK_DROPPED"):
            self.errors.append("%s: %s" % (update.state, update.get("message", "")))
            self.done.set()

    def error(self, driver, message):
        self.errors.append(message)
        self.done.set()


def main():
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    master = sys.argv[1]
    sched = InteropScheduler()
    framework = Dict()
    framework.user = "nobody"
    framework.name = "pymesos-interop"
    framework.role = ROLE
    framework.principal = PRINCIPAL
    framework.hostname = "localhost"
    driver = MesosSchedulerDriver(sched, framework, master, use_addict=True,
                                  implicit_acknowledgements=False)
    driver.start()
    finished = sched.done.wait(60)
    driver.stop()
    driver.join()
    print(json.dumps({
        "framework_id": sched.framework_id,
        "reserved": sched.reserved,
        "launched": sched.launched,
        "states": sched.states,
        "acked": sched.acked,
        "errors": sched.errors,
        "finished_in_time": finished,
    }))


if __name__ == "__main__":
    main()
