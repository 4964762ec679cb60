#!/usr/bin/env python3
# pod_latency: pod start latency as a user sees it: from the API create (POST) to the pod
# Running and Ready as seen by a watcher on the same API, for one pod at a time (median of
# --rounds) and for --pods at once. Prints figures and one JSON line.
import argparse
import http.client
import json
import ssl
import statistics
import sys
import threading
import time
import urllib.parse


def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPSConnection(u.hostname, u.port, timeout=120,
                                       context=ssl._create_unverified_context())


class Api:
    def __init__(self, url, token):
        self.url, self.hdr = url, {"Authorization": "Bearer " + token,
                                   "Content-Type": "application/json",
                                   "Accept": "application/json"}
        self.c = conn(url)

    def call(self, method, path, body=None):
        self.c.request(method, path, body=json.dumps(body) if body is not None else None,
                       headers=self.hdr)
        r = self.c.getresponse()
        data = r.read()
        if r.status >= 300 and r.status != 404:
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status, data[:300]))
        return r.status, json.loads(data) if data else None


def ready(pod):
    st = pod.get("status") or {}
    if st.get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in st.get("conditions") or [])


class Watcher(threading.Thread):
    """Watches pods with label bench=<run> and notes when each is first Running and Ready."""

    def __init__(self, url, token, ns, run, rv):
        super().__init__(daemon=True)
        self.c = conn(url)
        self.path = ("/api/v1/namespaces/%s/pods?watch=1&labelSelector=bench%%3D%s"
                     "&resourceVersion=%s&allowWatchBookmarks=false" % (ns, run, rv))
        self.hdr = {"Authorization": "Bearer " + token}
        self.seen, self.gone = {}, set()
        self.cv = threading.Condition()

    def run(self):
        self.c.request("GET", self.path, headers=self.hdr)
        r = self.c.getresponse()
        buf = b""
        while True:
            chunk = r.read1(65536) if hasattr(r, "read1") else r.read(1)
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if not line.strip():
                    continue
                t = time.monotonic()
                ev = json.loads(line)
                obj = ev.get("object") or {}
                name = (obj.get("metadata") or {}).get("name")
                with self.cv:
                    if ev.get("type") == "DELETED":
                        self.gone.add(name)
                    elif name not in self.seen and ready(obj):
                        self.seen[name] = t
                    self.cv.notify_all()

    def wait(self, pred, timeout):
        end = time.monotonic() + timeout
        with self.cv:
            while not pred():
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cv.wait(left)
            return True


def pod(name, run, image, node):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"bench": run}},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "c", "image": image,
                                     "command": ["sleep", "3600"]}]}}


def pct(v, q):
    v = sorted(v)
    return v[int(q * (len(v) - 1) + 0.5)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--node", required=True)
    ap.add_argument("--ns", default="default")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pods", type=int, default=30)
    ap.add_argument("--keep", action="store_true", help="leave the concurrent pods running")
    a = ap.parse_args()
    token = open(a.token_file).read().strip()
    api = Api(a.server, token)
    run = "b%d" % int(time.time())
    _, lst = api.call("GET", "/api/v1/namespaces/%s/pods?limit=1" % a.ns)
    w = Watcher(a.server, token, a.ns, run, lst["metadata"]["resourceVersion"])
    w.start()
    base = "/api/v1/namespaces/%s/pods" % a.ns

    one = []
    for i in range(a.rounds):
        name = "bench-one-%d" % i
        t0 = time.monotonic()
        api.call("POST", base, pod(name, run, a.image, a.node))
        if not w.wait(lambda: name in w.seen, 120):
            print("pod_latency: %s not Ready in 120 s" % name, file=sys.stderr)
            return 1
        one.append((w.seen[name] - t0) * 1000)
        api.call("DELETE", base + "/" + name, {"gracePeriodSeconds": 0})
        w.wait(lambda: name in w.gone, 120)
    if one:
        print("1 pod (median of %d): create to Running+Ready %.1f ms (min %.1f, max %.1f)" %
              (a.rounds, statistics.median(one), min(one), max(one)))

    names = ["bench-many-%s-%d" % (run, i) for i in range(a.pods)]
    t0 = time.monotonic()
    for n in names:
        api.call("POST", base, pod(n, run, a.image, a.node))
    t_posted = time.monotonic()
    if not w.wait(lambda: all(n in w.seen for n in names), 300):
        print("pod_latency: only %d of %d Ready in 300 s" %
              (sum(n in w.seen for n in names), a.pods), file=sys.stderr)
        return 1
    lat = [(w.seen[n] - t0) * 1000 for n in names]
    wall = max(lat)
    print("%d pods at once (posted in %.0f ms): p50 %.0f ms, p90 %.0f ms, max %.0f ms" %
          (a.pods, (t_posted - t0) * 1000, pct(lat, 0.5), pct(lat, 0.9), wall))
    print(json.dumps({"bench": "pod_latency",
                      "one_pod_ms": round(statistics.median(one), 1) if one else None,
                      "concurrent": {"pods": a.pods, "p50_ms": round(pct(lat, 0.5)),
                                     "p90_ms": round(pct(lat, 0.9)), "max_ms": round(wall)}}))
    if not a.keep:
        for n in names:
            api.call("DELETE", base + "/" + n, {"gracePeriodSeconds": 0})
    return 0


if __name__ == "__main__":
    sys.exit(main())
