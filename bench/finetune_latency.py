#!/usr/bin/env python3
"""Time from a parent's 10th answer to a registered, fine-tuned candidate version.

Starts `sprout serve` with the local GGUF writer and background fine-tuning every 10
answers (the default), writes 10 recommendations for 10 children (consented to training),
answers them (half 👍), and polls `GET /api/v1/models` until the KTO candidate appears.
Prints the phases and the candidate's training figures. Standard library only.

Usage: bench/finetune_latency.py SPROUT_BINARY GGUF [extra serve flags...]
  e.g. bench/finetune_latency.py target/release/sprout target/fixtures/models/gemma-3-270m-q4_k_m.gguf
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

ADMIN = "bench-admin"
ANSWERS = 10


def call(method, url, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read() or b"null")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, gguf, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
    work = tempfile.mkdtemp(prefix="sprout-finetune-bench-")
    server = subprocess.Popen(
        [binary, "serve", "--addr", "127.0.0.1:0", "--db", f"{work}/bench.db", "--writer", f"gguf:{gguf}",
         "--adapters", f"{work}/adapters", *extra],
        env={**os.environ, "SPROUT_ADMIN_TOKEN": ADMIN},
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = None
        for line in server.stdout:
            if "http://" in line:
                url = line[line.index("http://"):].strip()
                break
        if url is None:
            sys.exit("the server did not start")
        call("POST", f"{url}/api/v1/families", ADMIN,
             {"name": "B", "parent_email": "bench@example.org", "parent_password": "a long enough password"})
        token = call("POST", f"{url}/api/v1/auth/login", None,
                     {"email": "bench@example.org", "password": "a long enough password"})["token"]
        started = time.monotonic()
        pending = []
        for i in range(ANSWERS):
            child = call("POST", f"{url}/api/v1/children", token,
                         {"display_name": f"Kid {i}", "birth_date": "2016-05-01", "timezone": "Europe/Berlin"})["id"]
            call("PUT", f"{url}/api/v1/children/{child}/consents", token, {"training": True})
            recommendation = call("GET", f"{url}/api/v1/children/{child}/recommendation", token)
            pending.append((child, recommendation["id"]))
        written = time.monotonic() - started
        for i, (child, rid) in enumerate(pending):
            call("POST", f"{url}/api/v1/feedback", token,
                 {"recommendation_id": rid, "child_id": child, "was_helpful": i % 2 == 0})
        tenth = time.monotonic()
        while True:
            models = call("GET", f"{url}/api/v1/models", token)["items"]
            candidate = next((m for m in models if "-kto-" in m["version"]), None)
            if candidate:
                break
            if time.monotonic() - tenth > 1800:
                sys.exit("no candidate within 30 minutes")
            time.sleep(0.5)
        latency = time.monotonic() - tenth
        report = candidate["metrics"]["report"]
        print(f"writing {ANSWERS} recommendations with the local model: {written:.1f} s")
        print(f"10th answer -> registered candidate {candidate['version']}: {latency:.1f} s")
        print(f"  training steps: {report['steps']}, mean step {report['mean_step_seconds']:.1f} s, "
              f"reference pass {report['reference_seconds']:.1f} s, "
              f"peak RSS of the trainer {report['peak_rss_bytes'] / 2**30:.2f} GiB")
        print(f"  losses: {', '.join(f'{x:.3f}' for x in report['losses'])}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
