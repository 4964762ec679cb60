# controllers: a ReplicaSet scaled 0 -> 100 on a real, fsync'ed store with the real replicaset
# controller: the time until all 100 pods exist (goal: within 1 s, the issue's figure).
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP"
B=build/bench
make -s O=$B x86_64_defconfig >/dev/null && make -s -j"$(nproc)" O=$B tools >/dev/null || exit 1
"$B/tools/controllers_bench" --replicas 100 --runs 5 --goal-ms 1000
