# scheduler: tug server places pods on nodes as kube-scheduler does, seen through kubectl: a
# pod lands on the node its affinity prefers, an unschedulable one says why in its condition
# and events, and goes once `kubectl taint ... -` removes what kept it out.
. "$TOP/test/lib.sh"
TUG=${TUG:-$TOP/build/tug}
tmp=$(mktemp -d /tmp/tug-e2e-sched.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

"$TUG" server --data-dir "$tmp/data" --volatile-dir "$tmp/vol" --bind-address 127.0.0.1 \
	--https-listen-port 0 --write-kubeconfig "$tmp/kubeconfig" --disable-agent >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 150); do
	[ -f "$tmp/kubeconfig" ] && kubectl --kubeconfig "$tmp/kubeconfig" get --raw /readyz >/dev/null 2>&1 && break
	sleep 0.1
done
K="kubectl --kubeconfig $tmp/kubeconfig"

# Simulated nodes: Node objects with capacity and a Ready condition, no kubelet behind them.
node() { # node <name> <zone> <cpu>
	cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $1
  labels: {kubernetes.io/hostname: $1, topology.kubernetes.io/zone: $2}
status:
  capacity: {cpu: "$3", memory: 8Gi, pods: "110"}
  allocatable: {cpu: "$3", memory: 8Gi, pods: "110"}
  conditions:
  - {type: Ready, status: "True", reason: KubeletReady, message: ready}
EOF
}
{
	node east antarctica-east1 4
	echo ---
	node west antarctica-west1 4
	echo ---
	node small antarctica-east1 100m
} >"$tmp/nodes.yaml"
check "simulated nodes are created" bash -c "$K create -f $tmp/nodes.yaml >/dev/null"
$K taint nodes east dedicated=gpu:NoSchedule >/dev/null

cat >"$tmp/pod.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: with-node-affinity
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - key: topology.kubernetes.io/zone
            operator: In
            values: [antarctica-east1, antarctica-west1]
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 1
        preference:
          matchExpressions:
          - key: topology.kubernetes.io/zone
            operator: In
            values: [antarctica-west1]
  containers:
  - name: with-node-affinity
    image: registry.k8s.io/pause:3.9
EOF
$K create -f "$tmp/pod.yaml" >/dev/null
wait_for() { # wait_for <seconds> <command...>
	local n=$(($1 * 10))
	shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
check "a pod is bound to the node its affinity prefers" \
	wait_for 10 bash -c "[ \"\$($K get pod with-node-affinity -o jsonpath='{.spec.nodeName}')\" = west ]"
check "kubectl describe shows the Scheduled event" \
	wait_for 5 bash -c "$K describe pod with-node-affinity | grep -q 'Successfully assigned default/with-node-affinity to west'"

cat >"$tmp/big.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: big
spec:
  nodeSelector: {topology.kubernetes.io/zone: antarctica-east1}
  containers:
  - name: big
    image: registry.k8s.io/pause:3.9
    resources: {requests: {cpu: "2"}}
EOF
$K create -f "$tmp/big.yaml" >/dev/null
want="0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
msg() { $K get pod big -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
check "an unschedulable pod says why in PodScheduled" \
	wait_for 10 bash -c "[ \"\$($K get pod big -o jsonpath='{.status.conditions[?(@.type==\"PodScheduled\")].message}')\" = \"$want\" ]"
[ "$(msg)" = "$want" ] || echo "# got: $(msg)"
check "and in a FailedScheduling event" \
	bash -c "$K get events --field-selector reason=FailedScheduling -o jsonpath='{.items[*].message}' | grep -qF 'untolerated taint {dedicated: gpu}'"
check "it is still pending" bash -c "[ -z \"\$($K get pod big -o jsonpath='{.spec.nodeName}')\" ]"
$K taint nodes east dedicated=gpu:NoSchedule- >/dev/null
check "removing the taint lets it go to that node" \
	wait_for 15 bash -c "[ \"\$($K get pod big -o jsonpath='{.spec.nodeName}')\" = east ]"
check "the server is still up" kill -0 "$pid"
finish
