#!/usr/bin/env python3
"""Schemathesis against the gateway's REST side: every operation of /openapi.json, anonymously
for the public ones and with each demo role's token for those its role may call (the
operation's x-rti-roles), checking that no answer is a 5xx and that every answer conforms to
the document. Tokens come from the RTI_<ROLE>_TOKEN variables `rti up --demo` prints.

    eval "$(rti up --demo | grep '^export RTI_')"   # or copy the export lines
    python3 scripts/rest_fuzz.py 127.0.0.1:8080 [--max-examples 5]

Live streams (`GET /v1/<service>/events`, Subscribe) are left out: they never end.
"""

import argparse
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

ROLES = ["admin", "operator", "applicant", "reviewer", "coordinator", "funder"]
LIVE_STREAMS = r"/events$"
CHECKS = "not_a_server_error,response_schema_conformance"


def operations_by_caller(document):
    """Operation ids by caller: None for the public operations, else a role name."""
    callers = {None: []} | {role: [] for role in ROLES}
    for operations in document["paths"].values():
        for operation in operations.values():
            roles = operation.get("x-rti-roles")
            if roles is None:
                callers[None].append(operation["operationId"])
            # The service role's calls are between services: the gateway refuses its tokens.
            for role in roles or []:
                if role in callers:
                    callers[role].append(operation["operationId"])
    return callers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", help="the gateway, host:port")
    parser.add_argument("--max-examples", type=int, default=5, help="examples per operation and phase")
    arguments = parser.parse_args()

    schema_url = f"http://{arguments.address}/openapi.json"
    with urllib.request.urlopen(schema_url, timeout=30) as response:
        document = json.load(response)
    environment = dict(
        os.environ,
        SCHEMATHESIS_HOOKS="rest_fuzz_hooks",
        PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])),
    )
    failed = []
    for caller, operation_ids in operations_by_caller(document).items():
        if not operation_ids:
            continue
        command = [
            # The `st` command, run by this interpreter whether or not pip's scripts are on PATH.
            sys.executable, "-m", "schemathesis.cli", "run", schema_url,
            "--checks", CHECKS,
            "--exclude-path-regex", LIVE_STREAMS,
            "--max-examples", str(arguments.max_examples),
            "--request-timeout", "20",
            # One worker: CPython before 3.11.8 fails parsing source in two threads at once
            # ("AST constructor recursion depth mismatch"), which hypothesis does.
            "--workers", "1",
            "--no-color",
        ]
        for operation_id in operation_ids:
            command += ["--include-operation-id", operation_id]
        if caller is not None:
            token = os.environ.get(f"RTI_{caller.upper()}_TOKEN")
            if not token:
                sys.exit(f"RTI_{caller.upper()}_TOKEN is not set: export the tokens `rti up --demo` prints")
            command += ["--header", f"Authorization: Bearer {token}"]
        print(f"\n== {caller or 'anonymous'}: {len(operation_ids)} operations", flush=True)
        if subprocess.run(command, env=environment).returncode != 0:
            failed.append(caller or "anonymous")
    if failed:
        sys.exit(f"schemathesis found failures as: {', '.join(failed)}")
    print("\nschemathesis: no 5xx, every answer as /openapi.json says")


if __name__ == "__main__":
    main()
