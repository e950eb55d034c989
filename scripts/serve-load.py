#!/usr/bin/env python3
# Usage: scripts/serve-load.py HOST PORT REQUESTS CLIENTS USERS ITEMS   (CLIENTS <= USERS: client w observes user w)
# Bounded load test: N requests (1/3 route, 1/3 recommend, 1/3 observe) from C client threads with keep-alive
# connections against alpine serve on 127.0.0.1; prints throughput and p50/p99 per kind. Stops by itself.
import http.client, json, sys, threading, time, random
host, port, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
users, items = int(sys.argv[5]), int(sys.argv[6])
lat = {"route": [], "recommend": [], "observe": []}
codes = {}
lock = threading.Lock()
def worker(w):
    conn = http.client.HTTPConnection(host, port)
    rng = random.Random(w)
    for i in range(w, n, c):
        kind = ("route", "recommend", "observe")[i % 3]
        if kind == "route": body = {"item": rng.randrange(items), "k": 100}
        elif kind == "recommend": body = {"user": rng.randrange(users), "k": 100}
        else: body = {"user": w, "item": rng.randrange(items), "timestamp": 10**12 + i, "click": rng.random() < 0.4}
        t0 = time.perf_counter()
        conn.request("POST", "/v1/" + kind, json.dumps(body), {"Content-Type": "application/json"})
        r = conn.getresponse(); r.read()
        dt = time.perf_counter() - t0
        with lock:
            lat[kind].append(dt); codes[r.status] = codes.get(r.status, 0) + 1
start = time.perf_counter()
ts = [threading.Thread(target=worker, args=(w,)) for w in range(c)]
[t.start() for t in ts]; [t.join() for t in ts]
wall = time.perf_counter() - start
print(f"{n} requests, {c} clients, {wall:.1f} s: {n / wall:.0f} requests/s; status codes {codes}")
for k, v in lat.items():
    v.sort()
    print(f"{k:9s} n={len(v)} p50={1000 * v[len(v) // 2]:.1f} ms p99={1000 * v[int(len(v) * 0.99)]:.1f} ms")
