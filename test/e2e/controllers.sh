# controllers: tug server's controllers and scheduler seen through kubectl 1.32, on simulated
# nodes (Node objects whose Leases this script renews, and a fake kubelet that marks bound pods
# Running and Ready, Job pods Succeeded, and finishes pods being deleted). Deployments from
# create to scale, rolling update, rollout undo/pause/resume/restart; a Job to completion; a
# Service's Endpoints and EndpointSlices following readiness; a DaemonSet; garbage collection;
# namespace deletion; and a node whose Lease stops: tainted, its pods evicted and recreated.
. "$TOP/test/lib.sh"
TUG=${TUG:-$TOP/build/tug}
tmp=$(mktemp -d /tmp/tug-e2e-ctrl.XXXXXX)
pid=
kpid=
cleanup() {
	if [ -n "$kpid" ]; then
		kill "$kpid" 2>/dev/null
		wait "$kpid" 2>/dev/null
	fi
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Quick node failure: a Lease unrenewed for 4 s makes the node Unknown.
"$TUG" server --data-dir "$tmp/data" --volatile-dir "$tmp/vol" --bind-address 127.0.0.1 \
	--https-listen-port 0 --write-kubeconfig "$tmp/kubeconfig" --disable-agent \
	--node-monitor-period 500ms --node-monitor-grace-period 4s >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 300); do
	[ -f "$tmp/kubeconfig" ] && kubectl --kubeconfig "$tmp/kubeconfig" get --raw /readyz >/dev/null 2>&1 && break
	sleep 0.1
done
K="kubectl --kubeconfig $tmp/kubeconfig"

wait_for() { # wait_for <seconds> <command...>
	local n=$(($1 * 5 * ${E2E_SLOW:-3}))
	shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}
# jp <kind/name> <jsonpath> [namespace]
jp() { $K get "$1" -n "${3:-default}" -o jsonpath="$2" 2>/dev/null; }
is() { [ "$(jp "$1" "$2" "${4:-default}")" = "$3" ]; }

# --- simulated nodes ------------------------------------------------------------------------
node() { # node <name>
	cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $1
  labels: {kubernetes.io/hostname: $1, kubernetes.io/os: linux}
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
  conditions:
  - {type: Ready, status: "True", reason: KubeletReady, message: kubelet is posting ready status}
EOF
}
echo "n1 n2 n3" >"$tmp/alive"
{ node n1; echo ---; node n2; echo ---; node n3; } >"$tmp/nodes.yaml"
check "three simulated nodes are created" bash -c "$K create -f $tmp/nodes.yaml >/dev/null"

# The fake kubelet: renews the Leases of live nodes and plays the kubelet's part for their
# pods, once per round, with kubectl only.
fake_kubelet() {
	local round=0
	while :; do
		local alive now
		alive=$(cat "$tmp/alive")
		now=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
		for n in $alive; do
			cat <<EOF
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: $n, namespace: kube-node-lease}
spec: {holderIdentity: $n, leaseDurationSeconds: 40, renewTime: "$now"}
---
EOF
		done | $K apply -f - >/dev/null 2>&1 &
		local i=0
		$K get pods -A --no-headers -o custom-columns='NS:.metadata.namespace,N:.metadata.name,NODE:.spec.nodeName,PH:.status.phase,JOB:.metadata.labels.job-name,DEL:.metadata.deletionTimestamp' 2>/dev/null |
			while read -r ns name nodename phase job del; do
				i=$((i + 1))
				[ "$nodename" != "<none>" ] || continue
				grep -qw "$nodename" <<<"$alive" || continue
				if [ "$del" != "<none>" ]; then
					$K delete pod -n "$ns" "$name" --grace-period=0 --force --wait=false >/dev/null 2>&1 &
				elif [ "$phase" = Pending ] && [ "$job" != "<none>" ]; then
					$K patch pod -n "$ns" "$name" --subresource=status --type=merge -p \
						'{"status":{"phase":"Succeeded","conditions":[{"type":"Ready","status":"False","reason":"PodCompleted"}]}}' >/dev/null 2>&1 &
				elif [ "$phase" = Pending ]; then
					local a="10.42.$((round % 250)).$((i % 250 + 2))"
					$K patch pod -n "$ns" "$name" --subresource=status --type=merge -p \
						"{\"status\":{\"phase\":\"Running\",\"podIP\":\"$a\",\"podIPs\":[{\"ip\":\"$a\"}],\"conditions\":[{\"type\":\"Initialized\",\"status\":\"True\"},{\"type\":\"ContainersReady\",\"status\":\"True\"},{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"PodScheduled\",\"status\":\"True\"}],\"containerStatuses\":[{\"name\":\"c\",\"ready\":true,\"restartCount\":0,\"image\":\"i\",\"imageID\":\"\",\"started\":true,\"state\":{\"running\":{}}}]}}" >/dev/null 2>&1 &
				fi
			done
		wait
		round=$((round + 1))
		echo "$round" >"$tmp/rounds"
		sleep 0.2
	done
}
fake_kubelet &
kpid=$!
check "the fake kubelet renews Leases" wait_for 30 bash -c "[ \"\$($K get lease -n kube-node-lease -o name | wc -l)\" -ge 3 ]"
check "simulated nodes are Ready" wait_for 20 is node/n3 '{.status.conditions[?(@.type=="Ready")].status}' True

# pods of deployment d that are not being deleted, as "name node ready" lines
pods_of() { # pods_of <label selector> [namespace]
	$K get pods -n "${2:-default}" -l "$1" --no-headers -o custom-columns='N:.metadata.name,NODE:.spec.nodeName,R:.status.conditions[?(@.type=="Ready")].status,DEL:.metadata.deletionTimestamp' 2>/dev/null |
		awk '$4 == "<none>"'
}
count_ready() { # count_ready <selector> <n> [ns]: exactly n live pods, all bound and Ready
	local out
	out=$(pods_of "$1" "${3:-default}")
	[ "$(grep -c . <<<"$out")" -eq "$2" ] && ! grep -q '<none>' <<<"$(awk '{print $2, $3}' <<<"$out")" &&
		[ "$(awk '$3 == "True"' <<<"$out" | grep -c .)" -eq "$2" ]
}

export K
export -f jp is pods_of count_ready

# --- Deployment: create, scale ----------------------------------------------------------------
$K create deployment web --image=registry.k8s.io/pause:3.9 >/dev/null
check "kubectl create deployment makes a ReplicaSet owned by it" \
	wait_for 20 bash -c "$K get rs -l app=web -o jsonpath='{.items[0].metadata.ownerReferences[0].kind}' | grep -qx Deployment"
check "its pod is bound to a simulated node and Ready" wait_for 30 count_ready app=web 1
check "the Deployment reports 1 available replica" wait_for 20 is deploy/web '{.status.availableReplicas}' 1
$K scale deployment web --replicas=5 >/dev/null
check "scaled to 5: five bound, Ready pods" wait_for 40 count_ready app=web 5
check "the Deployment reports 5 available" wait_for 20 is deploy/web '{.status.availableReplicas}' 5
check "the pods are spread over the three nodes" \
	bash -c "[ \"\$(pods_of app=web | awk '{print \$2}' | sort -u | wc -l)\" -eq 3 ]"
$K scale deployment web --replicas=2 >/dev/null
check "scaled to 2: two pods left" wait_for 40 count_ready app=web 2
check "the Deployment reports 2 replicas" wait_for 20 is deploy/web '{.status.replicas}' 2

# --- rolling update keeping availability --------------------------------------------------------
: >"$tmp/avail"
(while :; do jp deploy/web '{.status.availableReplicas}' >>"$tmp/avail"; echo >>"$tmp/avail"; sleep 0.2; done) &
spid=$!
$K set image deployment/web pause=registry.k8s.io/pause:3.10 >/dev/null
check "kubectl rollout status waits for the rolling update" \
	$K rollout status deployment/web --timeout=300s
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
min=$(grep -E '^[0-9]+$' "$tmp/avail" | sort -n | head -1)
check "availability never dropped below 2 during the update (min ${min:-?})" [ "${min:-0}" -ge 2 ]
check "all pods run the new image" wait_for 20 bash -c \
	"[ \"\$($K get pods -l app=web -o jsonpath='{.items[*].spec.containers[0].image}' | tr ' ' '\n' | sort -u)\" = registry.k8s.io/pause:3.10 ]"
check "two ReplicaSets, the old one scaled to 0" \
	bash -c "[ \"\$($K get rs -l app=web -o jsonpath='{.items[*].spec.replicas}' | tr ' ' '\n' | sort | tr '\n' ' ')\" = '0 2 ' ]"
check "kubectl rollout history lists revisions 1 and 2" \
	bash -c "$K rollout history deployment/web | awk 'NR>2 && NF {print \$1}' | tr '\n' ' ' | grep -qx '1 2 '"
check "kubectl rollout undo goes back to the first image" \
	bash -c "$K rollout undo deployment/web >/dev/null && $K rollout status deployment/web --timeout=300s >/dev/null"
check "the template has the first image again" is deploy/web '{.spec.template.spec.containers[0].image}' registry.k8s.io/pause:3.9
check "the history now ends at revision 3" \
	bash -c "$K rollout history deployment/web | awk 'NR>2 && NF {print \$1}' | tr '\n' ' ' | grep -qx '2 3 '"

$K rollout pause deployment/web >/dev/null
$K set image deployment/web pause=registry.k8s.io/pause:3.8 >/dev/null
gen=$(jp deploy/web '{.metadata.generation}')
check "a paused Deployment observes its new template" wait_for 20 is deploy/web '{.status.observedGeneration}' "$gen"
check "but makes no ReplicaSet for it" \
	bash -c "! $K get rs -l app=web -o jsonpath='{.items[*].spec.template.spec.containers[0].image}' | grep -q pause:3.8"
check "kubectl rollout pause marks it paused" is deploy/web '{.spec.paused}' true
$K rollout resume deployment/web >/dev/null
check "after resume the rollout completes" $K rollout status deployment/web --timeout=300s
check "with the image set while paused" wait_for 20 bash -c \
	"[ \"\$($K get pods -l app=web -o jsonpath='{.items[*].spec.containers[0].image}' | tr ' ' '\n' | sort -u)\" = registry.k8s.io/pause:3.8 ]"
nrs=$($K get rs -l app=web --no-headers | wc -l)
$K rollout restart deployment/web >/dev/null
check "kubectl rollout restart rolls out a new ReplicaSet" \
	bash -c "$K rollout status deployment/web --timeout=300s >/dev/null && [ \"\$($K get rs -l app=web --no-headers | wc -l)\" -gt $nrs ]"
check "kubectl describe deployment shows ScalingReplicaSet events" \
	bash -c "$K describe deployment web | grep -q 'ScalingReplicaSet'"
check "kubectl describe replicaset shows SuccessfulCreate events" \
	bash -c "$K describe rs -l app=web | grep -q 'SuccessfulCreate'"

# --- Service endpoints follow readiness -----------------------------------------------------------
$K expose deployment web --port 80 --target-port 8080 >/dev/null
check "the Service's Endpoints list both ready pods" wait_for 20 bash -c \
	"[ \"\$($K get endpoints web -o jsonpath='{.subsets[0].addresses[*].ip}' | wc -w)\" -eq 2 ]"
check "its EndpointSlice has both, ready" wait_for 20 bash -c \
	"[ \"\$($K get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{.items[0].endpoints[*].conditions.ready}')\" = 'true true' ]"
p1=$(pods_of app=web | awk 'NR==1 {print $1}')
$K patch pod "$p1" --subresource=status --type=merge -p \
	'{"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"ContainersReady","status":"False"}]}}' >/dev/null
check "a pod that is no longer Ready moves to notReadyAddresses" wait_for 20 bash -c \
	"[ \"\$($K get endpoints web -o jsonpath='{.subsets[0].notReadyAddresses[*].ip}' | wc -w)\" -eq 1 ] && [ \"\$($K get endpoints web -o jsonpath='{.subsets[0].addresses[*].ip}' | wc -w)\" -eq 1 ]"
check "and is not ready in the EndpointSlice" wait_for 20 bash -c \
	"$K get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{.items[0].endpoints[*].conditions.ready}' | grep -qw false"
$K patch pod "$p1" --subresource=status --type=merge -p \
	'{"status":{"conditions":[{"type":"Ready","status":"True"},{"type":"ContainersReady","status":"True"}]}}' >/dev/null
check "ready again, it is back in addresses" wait_for 20 bash -c \
	"[ \"\$($K get endpoints web -o jsonpath='{.subsets[0].addresses[*].ip}' | wc -w)\" -eq 2 ]"

# --- Job --------------------------------------------------------------------------------------------
$K create job once --image=registry.k8s.io/pause:3.9 >/dev/null
check "a Job runs to completion" $K wait --for=condition=complete job/once --timeout=180s
check "and counts one success" is job/once '{.status.succeeded}' 1

# --- DaemonSet --------------------------------------------------------------------------------------
cat >"$tmp/ds.yaml" <<'EOF'
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: registry.k8s.io/pause:3.9}]
EOF
$K create -f "$tmp/ds.yaml" >/dev/null
check "a DaemonSet puts one Ready pod on each node" wait_for 40 bash -c \
	"count_ready app=agent 3 && [ \"\$(pods_of app=agent | awk '{print \$2}' | sort -u | tr '\n' ' ')\" = 'n1 n2 n3 ' ]"
check "and reports 3 ready" wait_for 20 is ds/agent '{.status.numberReady}' 3

# --- node failure -------------------------------------------------------------------------------
# Two pods that tolerate an unreachable node for 2 s only, both on n3.
$K cordon n1 n2 >/dev/null
cat >"$tmp/fo.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: fo}
spec:
  replicas: 2
  selector: {matchLabels: {app: fo}}
  template:
    metadata: {labels: {app: fo}}
    spec:
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      containers: [{name: fo, image: registry.k8s.io/pause:3.9}]
EOF
$K create -f "$tmp/fo.yaml" >/dev/null
check "two pods land on n3 while n1 and n2 are cordoned" wait_for 40 bash -c \
	"count_ready app=fo 2 && [ \"\$(pods_of app=fo | awk '{print \$2}' | sort -u)\" = n3 ]"
$K uncordon n1 n2 >/dev/null
old=$(pods_of app=fo | awk '{print $1}' | sort | tr '\n' ' ')
echo "n1 n2" >"$tmp/alive"
check "n3, whose Lease stopped, becomes Ready=Unknown" \
	wait_for 30 is node/n3 '{.status.conditions[?(@.type=="Ready")].status}' Unknown
check "and is tainted unreachable:NoExecute" wait_for 20 bash -c \
	"$K get node n3 -o jsonpath='{.spec.taints[*].key}:{.spec.taints[*].effect}' | grep -q 'node.kubernetes.io/unreachable.*NoExecute'"
check "its pods are evicted after their tolerationSeconds and recreated on n1/n2" wait_for 40 bash -c \
	"count_ready app=fo 2 && ! pods_of app=fo | awk '{print \$2}' | grep -q n3 && [ \"\$(pods_of app=fo | awk '{print \$1}' | sort | tr '\n' ' ')\" != '$old' ]"
check "the DaemonSet pod on n3 is not evicted" \
	bash -c "pods_of app=agent | awk '{print \$2}' | grep -qx n3"
check "kubectl describe node shows the node's events" \
	bash -c "$K describe node n3 | grep -q NodeNotReady"
check "kubectl describe pod of an evicted pod shows TaintManagerEviction" \
	bash -c "$K get events --field-selector reason=TaintManagerEviction -o name | grep -q ."

# n3 comes back: its Lease is renewed again (and the fake kubelet finishes its pods).
echo "n1 n2 n3" >"$tmp/alive"
# As a kubelet does on its return: it posts Ready again.
hb=$(date -u +%Y-%m-%dT%H:%M:%SZ)
$K patch node n3 --subresource=status --type=merge -p \
	"{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",\"message\":\"kubelet is posting ready status\",\"lastHeartbeatTime\":\"$hb\",\"lastTransitionTime\":\"$hb\"}]}}" >/dev/null
check "n3, renewing its Lease again, is Ready" \
	wait_for 30 is node/n3 '{.status.conditions[?(@.type=="Ready")].status}' True
check "and loses the unreachable taint" wait_for 20 bash -c \
	"! $K get node n3 -o jsonpath='{.spec.taints[*].key}' | grep -q unreachable"

# --- garbage collection and namespace deletion ----------------------------------------------
$K delete deployment web >/dev/null
check "deleting a Deployment removes its ReplicaSets" wait_for 40 bash -c "[ -z \"\$($K get rs -l app=web -o name)\" ]"
check "and its pods" wait_for 40 bash -c "[ -z \"\$($K get pods -l app=web -o name)\" ]"
$K create namespace scratch >/dev/null
$K create deployment tmp -n scratch --image=registry.k8s.io/pause:3.9 --replicas=2 >/dev/null
$K create configmap cm -n scratch --from-literal=a=b >/dev/null
check "a deployment in a new namespace runs" wait_for 40 count_ready app=tmp 2 scratch
$K delete namespace scratch --wait=false >/dev/null
check "deleting the namespace empties it and removes it" wait_for 60 bash -c "! $K get namespace scratch >/dev/null 2>&1"
check "the server is still up" kill -0 "$pid"
finish
