"""10,000 mixed requests from 16 concurrent boto3 clients: only injected errors."""

import threading
import time

import pytest

from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError

from emulator import Emulator
from emutestlib import ROLE, error_code, mkzip

THREADS = 16
PER_THREAD = 625                      # 16 * 625 = 10,000 requests
INJECTED = {"TooManyRequestsException", "ServiceException"}


def worker(emu, idx, counts, failures):
    lam = emu.client(max_attempts=1, max_pool_connections=2)
    name = "stress-%02d" % idx
    arn = "arn:aws:lambda:us-east-1:123456789012:function:" + name
    zips = [mkzip("t%d-%d" % (idx, i)) for i in range(4)]
    state = {"created": False, "alias": False, "n": 0, "versions": set()}

    def call(fn, *a, **kw):
        state["n"] += 1
        try:
            out = fn(*a, **kw)
            counts["ok"] += 1
            return out
        except ClientError as e:
            code = error_code(e)
            counts[code] = counts.get(code, 0) + 1
            if code not in INJECTED:
                failures.append((name, fn.__name__, code, str(e)))
        except (HTTPClientError, BotoConnectionError):
            counts["reset"] += 1
        return None

    step = 0
    while state["n"] < PER_THREAD:
        if not state["created"]:
            if call(lam.create_function, FunctionName=name, Runtime="python3.9", Role=ROLE,
                    Handler="app.handler", Code={"ZipFile": zips[0]}):
                state["created"] = True
            continue
        step += 1
        kind = step % 10
        if kind == 0:
            call(lam.update_function_code, FunctionName=arn, ZipFile=zips[step % 4])
        elif kind == 1:
            call(lam.update_function_configuration, FunctionName=name,
                 Environment={"Variables": {"STEP": str(step % 7)}})
        elif kind == 2:
            out = call(lam.publish_version, FunctionName=arn)
            if out:
                state["versions"].add(out["Version"])
        elif kind == 3 and state["versions"]:
            version = max(state["versions"], key=int)
            if not state["alias"]:
                if call(lam.create_alias, FunctionName=name, Name="live", FunctionVersion=version):
                    state["alias"] = True
            else:
                call(lam.update_alias, FunctionName=arn, Name="live", FunctionVersion=version)
        elif kind == 4:
            call(lam.get_function, FunctionName=arn)
        elif kind == 5:
            call(lam.get_function_configuration, FunctionName=name, Qualifier="$LATEST")
        elif kind == 6:
            call(lam.list_versions_by_function, FunctionName=arn, MaxItems=10)
        elif kind == 7:
            call(lam.list_aliases, FunctionName=name)
        elif kind == 8:
            call(lam.list_functions, MaxItems=5)
        else:
            call(lam.get_function, FunctionName=name + ":$LATEST")
    counts["requests"] = state["n"]


@pytest.mark.serial  # serial: 16 busy clients load the machine, and the run has a time bound
def test_ten_thousand_mixed_requests_from_16_clients():
    with Emulator(update_delay=0, seed=1234, throttle_rate=0.01, error_rate=0.01,
                  reset_rate=0.005) as emu:
        counts = [{"ok": 0, "reset": 0} for _ in range(THREADS)]
        failures = []
        threads = [threading.Thread(target=worker, args=(emu, i, counts[i], failures))
                   for i in range(THREADS)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        elapsed = time.monotonic() - t0
        assert not any(t.is_alive() for t in threads), "workers did not finish"
        assert failures == [], failures[:5]
        total = {}
        for c in counts:
            for k, v in c.items():
                total[k] = total.get(k, 0) + v
        assert total["requests"] == THREADS * PER_THREAD
        st = emu.stats()
        assert st["requests_total"] == THREADS * PER_THREAD
        assert st["faults"].get("throttle", 0) == total.get("TooManyRequestsException", 0)
        assert st["faults"].get("error", 0) == total.get("ServiceException", 0)
        assert st["faults"].get("reset", 0) == total["reset"]
        assert total["ok"] + sum(st["faults"].values()) == THREADS * PER_THREAD
        assert st["faults"]["throttle"] > 0 and st["faults"]["error"] > 0
        assert st["signature_failures"] == 0
        # the final state is consistent
        functions = emu.state()["functions"]
        assert len(functions) == THREADS
        for fn in functions:
            nums = [int(v["Version"]) for v in fn["versions"]]
            assert nums == list(range(1, len(nums) + 1)) and fn["next_version"] == len(nums) + 1
            for alias in fn["aliases"]:
                assert int(alias["FunctionVersion"]) in nums
        assert elapsed < 90, "too slow: %.1fs" % elapsed
        print("10,000 requests in %.1fs" % elapsed)
