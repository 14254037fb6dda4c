"""``ebpfsentinel-agent demo``: a lab of network namespaces with live attack traffic.

The lab: an attacker namespace and a sink namespace, each joined to the root namespace (the
victim, where the agent attaches) by a veth pair (``sentinel_agent.lab``); ``config``: the demo
configuration (every engine on); ``steps``: the scripted attacks and their checks; ``display``:
the live view; ``runner``: setup, steps and cleanup (also on Ctrl-C / SIGTERM). See docs/demo.md.
"""

import sys


def run_demo(quiet: bool = False) -> int:
    try:
        from sentinel_agent.demo.runner import run_demo as run
    except KeyboardInterrupt:  # Ctrl-C while importing: nothing was created yet
        print("demo interrupted", file=sys.stderr)
        return 130
    return run(quiet=quiet)
