# kubelet: pods on real containerd and runc through `tug server` (its kubelet, not
# --disable-agent) and kubectl, on tug-cni (bridge tkub<N>; the cluster dual-stack, a /24 inside
# 10.252.0.0/16 and a /64, given to the node by the node IPAM controller): the seed's
# command/args table, init containers, restarts with back-off,
# OOMKilled, probes, configMap/secret/emptyDir/hostPath/downwardAPI volumes and env, pods
# talking over localhost, a hostPort, logs, graceful deletion, tug and containerd restarts, the Node.
. "$TOP/test/lib.sh"
TUG=${TUG:-$TOP/build/tug}
B=${TUG_BUILD:-$TOP/build}
tmp=$(mktemp -d /tmp/tug-kubelet-XXXXXX)
net=$((RANDOM % 200 + 20))
br=tkub$net
pid=
follow_pid=
K="kubectl --kubeconfig $tmp/kubeconfig"
EP="unix://$tmp/d/run/containerd/containerd.sock"

cleanup() {
	[ -n "$follow_pid" ] && kill "$follow_pid" 2>/dev/null
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		# the kubelet ends the pods; what is left goes through CRI before containerd stops
		$K delete pods --all --grace-period=1 --timeout=60s >/dev/null 2>&1
		[ -S "$tmp/d/run/containerd/containerd.sock" ] && "$B/tools/cri_clean" "$EP" >/dev/null 2>&1
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	# the pods' CRI log directories, by uid
	for u in $(cat "$tmp/uids" 2>/dev/null); do rm -rf /var/log/pods/*_"$u"; done
	umount_under "$tmp"
	ip link del "$br" 2>/dev/null
	nft delete table inet "tug-cni-$br" 2>/dev/null
	nft delete table inet "tug-hp-$br" 2>/dev/null
	drop_routes_table
	rm -rf "$tmp"
}
trap cleanup EXIT

need_containerd
if ! grep -q 'CONFIG_TUG_KUBELET=y' "$B/.config" 2>/dev/null; then
	skip "built without the kubelet"
	finish
	exit 0
fi

# The test image: static busybox with ENTRYPOINT ["/bin/echo", "ep"] and CMD ["cmd"], as the
# seed's table has them.
mkdir -p "$tmp/d/images" "$tmp/host" "$tmp/ready"
links=()
for a in sh echo cat sleep ls true false env wget nc httpd dd tail date id hostname mkdir rm \
	touch test seq printf grep kill ps trap; do links+=("bin/$a@busybox"); done
"$B/host/mkoci" -o "$tmp/d/images/busybox.tar" -n docker.io/library/tkub-busybox:1 -a amd64 \
	-e /bin/echo -e ep -c cmd "$BUSYBOX=bin/busybox" "${links[@]}" >/dev/null
# The same image under a second tag: the rolling update's new version.
"$B/host/mkoci" -o "$tmp/d/images/busybox2.tar" -n docker.io/library/tkub-busybox:2 -a amd64 \
	-e /bin/echo -e ep -c cmd "$BUSYBOX=bin/busybox" "${links[@]}" >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0",0)); print(s.getsockname()[1])')
start_tug() {
	"$TUG" server --data-dir "$tmp/d" --volatile-dir "$tmp/vol" --bind-address 127.0.0.1 \
		--https-listen-port "$port" --write-kubeconfig "$tmp/kubeconfig" --node-name tkub-node \
		--cluster-cidr "10.252.$net.0/24,fd00:252:$net::/64" --cni-bridge "$br" --node-lease-interval 2s >>"$tmp/log" 2>&1 &
	pid=$!
}
# wait_until SECONDS command...: true as soon as the command is
wait_until() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	"$@" >/dev/null 2>&1
}
jp() { $K get pod "$1" -o jsonpath="$2" 2>/dev/null; }
is() { [ "$(jp "$1" "$2")" = "$3" ]; }
has() { jp "$1" "$2" | grep -q -- "$3"; }
logs_are() { [ "$($K logs "$@" 2>/dev/null | tr '\n' '|')" = "$LOGS" ]; }
node_ready() { [ "$($K get node tkub-node -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }

start_tug
wait_until 60 test -s "$tmp/kubeconfig"
wait_until 60 node_ready
check "the node registers and becomes Ready once containerd is" node_ready
check "the node IPAM controller gives the node its pod CIDR" \
	test "$($K get node tkub-node -o jsonpath='{.spec.podCIDR}')" = "10.252.$net.0/24"
check "... and, the cluster being dual-stack, one of each family" \
	test "$($K get node tkub-node -o jsonpath='{.spec.podCIDRs[*]}')" = "10.252.$net.0/24 fd00:252:$net::/64"
check "the kubelet writes tug-cni's conflist for it" \
	grep -q "\"10.252.$net.0/24\"" "$tmp/d/cni/net.d/10-tug.conflist"
check "... with both pod CIDRs as ranges, and both cluster CIDRs kept from masquerade" bash -c \
	"jq -e '.plugins[0] | ([.ranges[].subnet] == [\"10.252.$net.0/24\", \"fd00:252:$net::/64\"]) and (.clusterCIDRs | length == 2)' '$tmp/d/cni/net.d/10-tug.conflist' >/dev/null"
check "containerd's CNI dir runs the small tug-cni, for pods and for their lo" bash -c \
	"[ \"\$(readlink '$tmp/d/cni/bin/tug-cni')\" = '$B/tug-cni' ] && [ \"\$(readlink '$tmp/d/cni/bin/loopback')\" = '$B/tug-cni' ]"

# --- every pod at once; each check below waits for its own ---------------------------------
pod() { # pod NAME [restartPolicy] <<YAML (the containers part)
	printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  labels: {app: tkub}\nspec:\n  nodeName: tkub-node\n  terminationGracePeriodSeconds: 1\n  restartPolicy: %s\n' "$1" "${2:-Always}"
	cat
	echo ---
}
img=tkub-busybox:1
{
	# the seed's command/args table
	pod cmd-image Never <<Y
  containers: [{name: c, image: $img}]
Y
	pod cmd-command Never <<Y
  containers: [{name: c, image: $img, command: [echo, k8s-cmd]}]
Y
	pod cmd-args Never <<Y
  containers: [{name: c, image: $img, args: [k8s-arg]}]
Y
	pod cmd-both Never <<Y
  containers: [{name: c, image: $img, command: [echo, k8s-ep], args: [k8s-arg]}]
Y
	# init containers: in order, sharing an emptyDir; and one failing
	pod init-ok <<Y
  volumes: [{name: w, emptyDir: {}}]
  initContainers:
  - {name: one, image: $img, command: [sh, -c, "echo one >> /w/log"], volumeMounts: [{name: w, mountPath: /w}]}
  - {name: two, image: $img, command: [sh, -c, "echo two >> /w/log"], volumeMounts: [{name: w, mountPath: /w}]}
  containers:
  - {name: app, image: $img, command: [sh, -c, "cat /w/log; exec sleep 3600"], volumeMounts: [{name: w, mountPath: /w}]}
Y
	pod init-fail <<Y
  initContainers: [{name: init, image: $img, command: [sh, -c, "echo init failing; exit 1"]}]
  containers: [{name: app, image: $img, command: [sleep, "3600"]}]
Y
	# a crashing container beside a steady one
	pod crash <<Y
  containers:
  - {name: crash, image: $img, command: [sh, -c, "echo crashing; exit 3"]}
  - {name: steady, image: $img, command: [sleep, "3600"]}
Y
	pod oom Never <<Y
  containers:
  - name: hog
    image: $img
    command: [dd, "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"]
    resources: {limits: {memory: 32Mi}}
Y
	pod guaranteed <<Y
  containers:
  - name: c
    image: $img
    command: [sleep, "3600"]
    resources: {limits: {memory: 64Mi, cpu: 250m}}
Y
	pod liveness <<Y
  containers:
  - name: c
    image: $img
    command: [sh, -c, "touch /alive; sleep 3; rm /alive; exec sleep 3600"]
    livenessProbe: {exec: {command: [cat, /alive]}, periodSeconds: 1, failureThreshold: 2}
Y
	# ready while the test's file $tmp/ready/ok exists
	pod readiness <<Y
  volumes: [{name: r, hostPath: {path: $tmp/ready}}]
  containers:
  - name: c
    image: $img
    command: [sleep, "3600"]
    readinessProbe: {exec: {command: [cat, /r/ok]}, periodSeconds: 1}
    volumeMounts: [{name: r, mountPath: /r}]
Y
	pod probes-net <<Y
  containers:
  - name: web
    image: $img
    command: [sh, -c, "mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {httpGet: {path: /index.html, port: http}, periodSeconds: 1}
    livenessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1, failureThreshold: 20}
Y
	pod dual <<Y
  containers:
  - name: c
    image: $img
    command: [sh, -c, "echo ips \$POD_IPS; grep -c -w dual /etc/hosts; exec sleep 3600"]
    env: [{name: POD_IPS, valueFrom: {fieldRef: {fieldPath: status.podIPs}}}]
Y
	pod shared <<Y
  volumes: [{name: s, emptyDir: {}}, {name: m, emptyDir: {medium: Memory}}]
  containers:
  - {name: writer, image: $img, command: [sh, -c, "echo from-writer > /s/f; echo mem > /m/f; exec sleep 3600"], volumeMounts: [{name: s, mountPath: /s}, {name: m, mountPath: /m}]}
  - {name: reader, image: $img, command: [sh, -c, "while [ ! -s /s/f ] || [ ! -s /m/f ]; do sleep 0.2; done; cat /s/f /m/f; exec sleep 3600"], volumeMounts: [{name: s, mountPath: /s}, {name: m, mountPath: /m}]}
Y
	pod localhost <<Y
  containers:
  - {name: server, image: $img, command: [sh, -c, "mkdir -p /www && echo over-localhost > /www/index.html && exec httpd -f -p 8081 -h /www"]}
  - {name: client, image: $img, command: [sh, -c, "until wget -qO- http://localhost:8081/; do sleep 0.3; done; exec sleep 3600"]}
Y
	pod counter <<Y
  containers: [{name: c, image: $img, command: [sh, -c, "i=0; while true; do echo line \$i; i=\$((i+1)); sleep 0.5; done"]}]
Y
	# a hostPort: the node's addresses on that port reach the pod
	pod hostport <<Y
  containers:
  - {name: c, image: $img, command: [sh, -c, "mkdir -p /www && echo via-hostport > /www/index.html && exec httpd -f -p 8080 -h /www"],
     ports: [{containerPort: 8080, hostPort: $hport}]}
Y
} >"$tmp/pods.yaml"
cat >"$tmp/sources.yaml" <<Y
apiVersion: v1
kind: ConfigMap
metadata: {name: tkub-cm}
data: {greeting: hello, color: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: tkub-secret}
stringData: {password: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: sources, labels: {app: tkub, tier: demo}}
spec:
  nodeName: tkub-node
  terminationGracePeriodSeconds: 1
  volumes:
  - {name: cm, configMap: {name: tkub-cm}}
  - {name: sec, secret: {secretName: tkub-secret, defaultMode: 0400}}
  - {name: dapi, downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}}
  - {name: host, hostPath: {path: $tmp/host, type: Directory}}
  containers:
  - name: c
    image: $img
    command: [sh, -c, "echo env \$GREETING \$PASSWORD \$color \$POD_NAME \$MEM_LIMIT; echo file \$(cat /cm/greeting) \$(cat /sec/password); cat /dapi/labels; echo; echo host > /host/written; while true; do echo now \$(cat /cm/greeting); sleep 1; done"]
    env:
    - {name: GREETING, valueFrom: {configMapKeyRef: {name: tkub-cm, key: greeting}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: tkub-secret, key: password}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: MEM_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    envFrom: [{configMapRef: {name: tkub-cm}}]
    resources: {limits: {memory: 100Mi}}
    volumeMounts:
    - {name: cm, mountPath: /cm}
    - {name: sec, mountPath: /sec}
    - {name: dapi, mountPath: /dapi}
    - {name: host, mountPath: /host}
---
apiVersion: v1
kind: Pod
metadata: {name: secctx, labels: {app: tkub}}
spec:
  nodeName: tkub-node
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 1234, runAsGroup: 5678}
  volumes:
  - name: proj
    projected:
      sources:
      - configMap: {name: tkub-cm, items: [{key: color, path: color}]}
      - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
  containers:
  - name: c
    image: $img
    command: [sh, -c, "id -u; id -g; cat /p/color; echo; cat /p/name; echo; if touch /x 2>/dev/null; then echo rw; else echo ro; fi; exec sleep 3600"]
    securityContext: {readOnlyRootFilesystem: true}
    volumeMounts: [{name: proj, mountPath: /p}]
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet, labels: {app: tkub}}
spec:
  nodeName: tkub-node
  terminationGracePeriodSeconds: 1
  hostNetwork: true
  containers: [{name: c, image: $img, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: caps, labels: {app: tkub}}
spec:
  nodeName: tkub-node
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    securityContext: {capabilities: {add: [NET_ADMIN], drop: [CHOWN]}}
    image: $img
    command: [sh, -c, 'e=0x\$(sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status); echo "admin=\$(( (e >> 12) & 1 )) chown=\$(( e & 1 ))"; ip addr add 192.0.2.1/32 dev lo && echo made; exec sleep 3600']
  - name: priv
    image: $img
    command: [sh, -c, 'sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status; ls /dev | wc -l; if echo 1 > /proc/sys/net/ipv4/ip_forward 2>/dev/null; then echo sys-rw; else echo sys-ro; fi; exec sleep 3600']
    securityContext: {privileged: true}
---
apiVersion: v1
kind: Pod
metadata: {name: missing-cm, labels: {app: tkub}}
spec:
  nodeName: tkub-node
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: $img
    command: [sh, -c, "echo got \$LATE; exec sleep 3600"]
    env: [{name: LATE, valueFrom: {configMapKeyRef: {name: tkub-late, key: k}}}]
Y
t_create=$SECONDS
check "kubectl apply creates the pods" bash -c "$K apply -f $tmp/pods.yaml >/dev/null && $K apply -f $tmp/sources.yaml >/dev/null"

# --- command and args against the image's ENTRYPOINT/CMD ----------------------------------------
for p in cmd-image cmd-command cmd-args cmd-both; do wait_until 60 is $p '{.status.phase}' Succeeded; done
check "no command, no args: ENTRYPOINT + CMD run (ep cmd)" test "$($K logs cmd-image)" = "ep cmd"
check "command only: the image's ENTRYPOINT and CMD are both replaced" test "$($K logs cmd-command)" = "k8s-cmd"
check "args only: ENTRYPOINT with the args (ep k8s-arg)" test "$($K logs cmd-args)" = "ep k8s-arg"
check "command and args: both from the pod" test "$($K logs cmd-both)" = "k8s-ep k8s-arg"
check "a finished pod is Succeeded with exit code 0, reason Completed" bash -c "[ \"\$($K get pod cmd-both -o jsonpath='{.status.containerStatuses[0].state.terminated.reason}')\" = Completed ]"

# --- init containers ----------------------------------------------------------------------------
wait_until 60 is init-ok '{.status.phase}' Running
LOGS="one|two|"
wait_until 20 logs_are init-ok -c app
check "init containers run in order before the app container" logs_are init-ok -c app
check "the Initialized condition is True" is init-ok '{.status.conditions[?(@.type=="Initialized")].status}' True
wait_until 60 has init-fail '{.status.initContainerStatuses[0].restartCount}' '[1-9]'
check "a failing init container is retried" has init-fail '{.status.initContainerStatuses[0].restartCount}' '[1-9]'
check "and blocks the pod: Pending, Initialized False" bash -c "[ \"\$($K get pod init-fail -o jsonpath='{.status.phase}')\" = Pending ] && [ \"\$($K get pod init-fail -o jsonpath='{.status.conditions[?(@.type==\"Initialized\")].status}')\" = False ]"
check "its app container never started (PodInitializing, no container ID)" bash -c "[ \"\$($K get pod init-fail -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}')\" = PodInitializing ] && [ -z \"\$($K get pod init-fail -o jsonpath='{.status.containerStatuses[0].containerID}')\" ]"
# (between retries the init container runs again for a moment: Init:0/1)
wait_until 30 bash -c "$K get pod init-fail | grep -Eq 'Init:(Error|CrashLoopBackOff)'"
check "kubectl shows Init:Error or Init:CrashLoopBackOff" bash -c "$K get pod init-fail | grep -Eq 'Init:(Error|CrashLoopBackOff)'"

# --- crash loop with back-off ----------------------------------------------------------------------
wait_until 90 has crash '{.status.containerStatuses[?(@.name=="crash")].state.waiting.message}' 'back-off 20s'
check "a crashing container goes into CrashLoopBackOff" is crash '{.status.containerStatuses[?(@.name=="crash")].state.waiting.reason}' CrashLoopBackOff
check "with a growing back-off (10s, then 20s)" has crash '{.status.containerStatuses[?(@.name=="crash")].state.waiting.message}' 'back-off 20s'
check "its last state is the exit (code 3, Error)" bash -c "[ \"\$($K get pod crash -o jsonpath='{.status.containerStatuses[?(@.name==\"crash\")].lastState.terminated.exitCode}')\" = 3 ]"
check "restartCount counts the restarts" has crash '{.status.containerStatuses[?(@.name=="crash")].restartCount}' '^[2-9]'
check "while its sibling keeps running, never restarted" bash -c "[ \"\$($K get pod crash -o jsonpath='{.status.containerStatuses[?(@.name==\"steady\")].restartCount}')\" = 0 ] && $K get pod crash -o jsonpath='{.status.containerStatuses[?(@.name==\"steady\")].state.running.startedAt}' | grep -q T"
check "kubectl get shows CrashLoopBackOff" bash -c "$K get pod crash | grep -q CrashLoopBackOff"
check "a BackOff event is recorded" bash -c "$K get events --field-selector involvedObject.name=crash | grep -q 'Back-off restarting failed container crash'"
check "kubectl logs --previous shows the last run" bash -c "$K logs crash -c crash --previous | grep -qx crashing"

# --- memory limit -------------------------------------------------------------------------------------
wait_until 60 is oom '{.status.phase}' Failed
check "a memory hog over its limit is OOMKilled" is oom '{.status.containerStatuses[0].state.terminated.reason}' OOMKilled
check "with exit code 137" is oom '{.status.containerStatuses[0].state.terminated.exitCode}' 137
check "requests = limits makes the pod Guaranteed" is guaranteed '{.status.qosClass}' Guaranteed
check "no resources: BestEffort" is counter '{.status.qosClass}' BestEffort

# --- probes -----------------------------------------------------------------------------------------------
wait_until 60 has liveness '{.status.containerStatuses[0].restartCount}' '[1-9]'
check "a failing liveness probe restarts the container" has liveness '{.status.containerStatuses[0].restartCount}' '[1-9]'
check "with an Unhealthy event" bash -c "$K get events --field-selector involvedObject.name=liveness | grep -q 'Liveness probe failed'"
wait_until 60 is readiness '{.status.phase}' Running
check "a failing readiness probe: Running but not Ready" is readiness '{.status.conditions[?(@.type=="Ready")].status}' False
touch "$tmp/ready/ok"
wait_until 30 is readiness '{.status.conditions[?(@.type=="Ready")].status}' True
check "readiness probe success makes the pod Ready" is readiness '{.status.conditions[?(@.type=="Ready")].status}' True
rm "$tmp/ready/ok"
wait_until 30 is readiness '{.status.conditions[?(@.type=="Ready")].status}' False
check "and its failure makes it not Ready (the container keeps running)" bash -c "[ \"\$($K get pod readiness -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = False ] && [ \"\$($K get pod readiness -o jsonpath='{.status.containerStatuses[0].restartCount}')\" = 0 ]"
touch "$tmp/ready/ok"
wait_until 30 is readiness '{.status.conditions[?(@.type=="Ready")].status}' True
check "then Ready again" is readiness '{.status.conditions[?(@.type=="Ready")].status}' True
wait_until 60 is probes-net '{.status.conditions[?(@.type=="Ready")].status}' True
ip=$(jp probes-net '{.status.podIP}')
echo "# probes-net pod IP $ip"
check "the pod gets its IP from tug-cni, inside the node's pod CIDR" bash -c "[[ '$ip' == 10.252.$net.* ]] && [ '$ip' != 10.252.$net.1 ]"
check "podIPs lists it too, hostIP is the node's" bash -c "[ \"\$($K get pod probes-net -o jsonpath='{.status.podIPs[0].ip}')\" = '$ip' ] && [ -n \"\$($K get pod probes-net -o jsonpath='{.status.hostIP}')\" ]"
check "the host reaches the pod over the bridge" bash -c "[ \"\$(wget -qO- -T 5 http://$ip:8080/index.html)\" = hi ]"
ip6=$(jp probes-net '{.status.podIPs[1].ip}')
check "a dual-stack pod's podIPs has its IPv6 address second, from the node's IPv6 pod CIDR" \
	bash -c "[[ '$ip6' == fd00:252:$net::* ]] && [ '$ip6' != fd00:252:$net::1 ]"
wait_until 10 bash -c "wget -qO- -T 2 'http://[$ip6]:8080/index.html' >/dev/null 2>&1"
check "the host reaches the pod over IPv6 too" bash -c "[ \"\$(wget -qO- -T 5 'http://[$ip6]:8080/index.html')\" = hi ]"
wait_until 60 is dual '{.status.phase}' Running
wait_until 20 bash -c "$K logs dual 2>/dev/null | grep -q ."
LOGS="ips $(jp dual '{.status.podIPs[0].ip}'),$(jp dual '{.status.podIPs[1].ip}')|2|"
check "status.podIPs in the environment lists both addresses; /etc/hosts names the pod on both" logs_are dual
check "conditions PodReadyToStartContainers, PodScheduled, Initialized, ContainersReady, Ready all True" \
	bash -c "c=\$($K get pod probes-net -o jsonpath='{range .status.conditions[*]}{.type}={.status} {end}'); for t in PodReadyToStartContainers PodScheduled Initialized ContainersReady Ready; do grep -q \"\$t=True\" <<<\"\$c\" || exit 1; done"
check "containerStatuses: running, ready, started, containerID, image and imageID" bash -c \
	"$K get pod probes-net -o jsonpath='{.status.containerStatuses[0].state.running.startedAt} {.status.containerStatuses[0].ready} {.status.containerStatuses[0].started} {.status.containerStatuses[0].containerID} {.status.containerStatuses[0].image} {.status.containerStatuses[0].imageID}' | grep -Eq '^[0-9T:-]+Z true true containerd://[0-9a-f]{64} docker.io/library/tkub-busybox:1 sha256:[0-9a-f]{64}\$'"
check "httpGet readiness (named port) and tcpSocket liveness probes pass" bash -c "[ \"\$($K get pod probes-net -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ] && [ \"\$($K get pod probes-net -o jsonpath='{.status.containerStatuses[0].restartCount}')\" = 0 ]"
# created here, so that its 6 s before the startup probe passes are still ahead
{
	pod startup <<Y
  containers:
  - name: c
    image: $img
    command: [sh, -c, "sleep 6; touch /started; exec sleep 3600"]
    startupProbe: {exec: {command: [cat, /started]}, periodSeconds: 1, failureThreshold: 60}
    livenessProbe: {exec: {command: [cat, /started]}, periodSeconds: 1, failureThreshold: 1}
    readinessProbe: {exec: {command: ["true"]}, periodSeconds: 1}
Y
} | $K apply -f - >/dev/null
wait_until 60 is startup '{.status.phase}' Running
check "before the startup probe passes the container is not started, not ready" bash -c "[ \"\$($K get pod startup -o jsonpath='{.status.containerStatuses[0].started}')\" = false ] && [ \"\$($K get pod startup -o jsonpath='{.status.containerStatuses[0].ready}')\" = false ]"
wait_until 60 is startup '{.status.containerStatuses[0].ready}' true
check "once it passes the container is started and ready" bash -c "[ \"\$($K get pod startup -o jsonpath='{.status.containerStatuses[0].started}')\" = true ] && [ \"\$($K get pod startup -o jsonpath='{.status.containerStatuses[0].ready}')\" = true ]"
check "the liveness probe did not run (and kill) before startup passed" is startup '{.status.containerStatuses[0].restartCount}' 0

# --- configMap, secret, downward API, hostPath ---------------------------------------------------------
wait_until 60 is sources '{.status.phase}' Running
wait_until 20 bash -c "$K logs sources | grep -q '^file '"
out=$($K logs sources 2>&1)
check "env from configMapKeyRef, secretKeyRef, envFrom, fieldRef, resourceFieldRef" grep -qx 'env hello s3cret blue sources 100' <<<"$out"
check "configMap and secret volumes" grep -qx 'file hello s3cret' <<<"$out"
check "downwardAPI volume with the pod's labels" grep -qx 'tier="demo"' <<<"$out"
check "hostPath volume writes to the host" bash -c "[ \"\$(cat $tmp/host/written)\" = host ]"
wait_until 60 is secctx '{.status.phase}' Running
LOGS="1234|5678|blue|secctx|ro|"
wait_until 20 logs_are secctx
check "securityContext runAsUser/runAsGroup, readOnlyRootFilesystem; a projected volume" logs_are secctx
wait_until 60 is caps '{.status.phase}' Running
LOGS="admin=1 chown=0|made|"
wait_until 20 logs_are caps -c c
check "capabilities add NET_ADMIN and drop CHOWN" logs_are caps -c c
wait_until 20 bash -c "[ \"\$($K logs caps -c priv 2>/dev/null | wc -l)\" -ge 3 ]"
mapfile -t pl < <($K logs caps -c priv 2>/dev/null)
check "a privileged container has every capability the node has" \
	test "${pl[0]:-}" = "$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)"
check "a privileged container sees the host's devices and may write /proc/sys" \
	bash -c "[ '${pl[1]:-0}' -gt 20 ] && [ '${pl[2]:-}' = sys-rw ]"
wait_until 60 is hostnet '{.status.phase}' Running
check "a hostNetwork pod's IP is the node's" bash -c "[ -n \"\$($K get pod hostnet -o jsonpath='{.status.podIP}')\" ] && [ \"\$($K get pod hostnet -o jsonpath='{.status.podIP}')\" = \"\$($K get pod hostnet -o jsonpath='{.status.hostIP}')\" ]"
$K patch configmap tkub-cm --type=merge -p '{"data":{"greeting":"updated"}}' >/dev/null
wait_until 30 bash -c "$K logs sources --tail=1 | grep -qx 'now updated'"
check "a changed configMap shows in its volume" bash -c "$K logs sources --tail=1 | grep -qx 'now updated'"
wait_until 30 is missing-cm '{.status.containerStatuses[0].state.waiting.reason}' CreateContainerConfigError
check "a missing configMap: CreateContainerConfigError" has missing-cm '{.status.containerStatuses[0].state.waiting.message}' 'configmap "tkub-late" not found'
printf "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tkub-late}\ndata: {k: arrived}\n" | $K apply -f - >/dev/null
wait_until 60 is missing-cm '{.status.phase}' Running
wait_until 20 bash -c "$K logs missing-cm | grep -qx 'got arrived'"
check "which starts once the configMap exists" bash -c "$K logs missing-cm | grep -qx 'got arrived'"

# --- containers of one pod: emptyDir and localhost ---------------------------------------------------
wait_until 60 bash -c "$K logs shared -c reader 2>/dev/null | grep -qx mem"
check "an emptyDir (disk and memory) is shared by two containers" bash -c "[ \"\$($K logs shared -c reader | tr '\n' ' ')\" = 'from-writer mem ' ]"
wait_until 60 bash -c "$K logs localhost -c client 2>/dev/null | grep -qx over-localhost"
check "two containers of one pod talk over localhost" bash -c "$K logs localhost -c client | grep -qx over-localhost"

# --- a hostPort, reached at addresses of this node (never outside the machine) ---------------------
# http_get HOST PORT: the body a web server answers there, within 3 s
http_get() {
	python3 -c 'import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 3)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
print(s.makefile("rb").read().decode().split("\r\n\r\n", 1)[-1].strip())' "$1" "$2" 2>/dev/null
}
gw=10.252.$net.1 # the bridge's address: a local address of the node that this test makes
wait_until 60 is hostport '{.status.phase}' Running
wait_until 20 bash -c "[ \"\$(python3 -c 'import socket; socket.create_connection((\"$gw\", $hport), 3)' 2>&1)\" = '' ]"
check "a pod's hostPort is reached at the node's address on that port" test "$(http_get "$gw" "$hport")" = via-hostport
hip=$(jp hostport '{.status.hostIP}')
if [ -n "$hip" ] && ip -o addr show | grep -q "inet6\? $hip/"; then
	check "... and at the pod's hostIP ($hip, an address of this machine)" test "$(http_get "$hip" "$hport")" = via-hostport
else
	skip "the pod's hostIP '$hip' is not an address of this machine"
fi
check "tug-cni keeps the mapping in its own nft table for the bridge" \
	bash -c "nft list table inet tug-hp-$br | grep -q 'tcp . $hport :'"
jp hostport '{.metadata.uid}{"\n"}' >>"$tmp/uids"
$K delete pod hostport --grace-period=1 --wait=false >/dev/null 2>&1
wait_until 60 bash -c "! $K get pod hostport >/dev/null 2>&1"
check "once the pod is deleted, the hostPort is free again" bash -c \
	"! nft list table inet tug-hp-$br | grep -q 'tcp . $hport :' && [ -z \"\$(python3 -c 'import socket; socket.create_connection((\"$gw\", $hport), 3); print(1)' 2>/dev/null)\" ]"

# --- logs ---------------------------------------------------------------------------------------------
wait_until 30 bash -c "$K logs counter | grep -q 'line 6'"
check "kubectl logs --tail" bash -c "[ \"\$($K logs counter --tail=2 | wc -l)\" = 2 ]"
check "kubectl logs --timestamps" bash -c "$K logs counter --tail=1 --timestamps | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z line [0-9]+$'"
check "kubectl logs --since" bash -c "n=\$($K logs counter --since=2s | wc -l); [ \"\$n\" -ge 1 ] && [ \"\$n\" -le 8 ]"
check "kubectl logs --limit-bytes" bash -c "[ \"\$($K logs counter --limit-bytes=5)\" = 'line ' ]"
check "kubectl logs -c picks the container" bash -c "$K logs crash -c steady | wc -c | grep -qx 0"
check "without -c in a two-container pod kubectl defaults to the first" bash -c "$K logs localhost 2>&1 | grep -q 'Defaulted container'"
$K logs -f counter >"$tmp/follow" 2>&1 &
follow_pid=$!
sleep 3
n1=$(wc -l <"$tmp/follow")
sleep 2
n2=$(wc -l <"$tmp/follow")
check "kubectl logs -f follows the file as it grows" test "$n2" -gt "$n1"
kill "$follow_pid" 2>/dev/null
wait "$follow_pid" 2>/dev/null
follow_pid=
check "the logs of a waiting container are refused as upstream does" bash -c "$K logs init-fail -c app 2>&1 | grep -q 'is waiting to start: PodInitializing'"

# --- graceful deletion -------------------------------------------------------------------------------------
cat <<Y | $K apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: term-slow, labels: {app: tkub}}
spec:
  nodeName: tkub-node
  terminationGracePeriodSeconds: 5
  volumes: [{name: host, hostPath: {path: $tmp/host}}]
  containers:
  - name: c
    image: $img
    command: [sh, -c, "trap '' TERM; while true; do sleep 1; done"]
    lifecycle: {preStop: {exec: {command: [sh, -c, "echo prestop > /host/prestop"]}}}
    volumeMounts: [{name: host, mountPath: /host}]
---
apiVersion: v1
kind: Pod
metadata: {name: term-fast, labels: {app: tkub}}
spec:
  nodeName: tkub-node
  terminationGracePeriodSeconds: 30
  containers:
  - name: c
    image: $img
    command: [sh, -c, "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
Y
wait_until 60 is term-slow '{.status.phase}' Running
wait_until 60 is term-fast '{.status.phase}' Running
t0=$(date +%s.%N)
$K delete pod term-fast --wait=true --timeout=60s >/dev/null
t1=$(date +%s.%N)
$K delete pod term-slow --wait=true --timeout=60s >/dev/null
t2=$(date +%s.%N)
fast=$(echo "$t1 - $t0" | bc)
slow=$(echo "$t2 - $t1" | bc)
echo "# graceful delete: SIGTERM honoured ${fast}s, SIGTERM ignored (grace 5s) ${slow}s"
check "a pod that exits on SIGTERM goes at once, well before its 30 s grace" bash -c "[ \$(echo '$fast < 15' | bc) = 1 ]"
check "a pod ignoring SIGTERM is killed after its grace period (5 s)" bash -c "[ \$(echo '$slow >= 4.5 && $slow < 30' | bc) = 1 ]"
check "the preStop hook ran first" bash -c "[ \"\$(cat $tmp/host/prestop)\" = prestop ]"
check "the deleted pods are gone from the API" bash -c "! $K get pod term-slow term-fast 2>/dev/null | grep -q term"

# --- a Deployment: controllers, scheduler and kubelet together ------------------------------
t_dep=$(date +%s.%N)
$K create deployment tkub-web --image=$img --replicas=3 --port=8080 -- \
	sh -c 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www' >/dev/null
dep_ready() { [ "$($K get deployment tkub-web -o jsonpath='{.status.readyReplicas}')" = 3 ]; }
wait_until 90 dep_ready
t_dep=$(echo "$(date +%s.%N) - $t_dep" | bc)
echo "# kubectl create deployment to 3 ready replicas: ${t_dep}s"
check "kubectl create deployment: its 3 pods are scheduled, run and are Ready" dep_ready
check "the pods were bound by the scheduler to the node" bash -c "[ \"\$($K get pods -l app=tkub-web -o jsonpath='{range .items[*]}{.spec.nodeName} {end}')\" = 'tkub-node tkub-node tkub-node ' ]"
check "each pod answers on its own IP" bash -c "for ip in \$($K get pods -l app=tkub-web -o jsonpath='{.items[*].status.podIP}'); do wget -qO- -T 5 http://\$ip:8080/ | grep -q tkub-web || exit 1; done"
check "the Service's endpoints list the ready pods" bash -c "$K expose deployment tkub-web --port=80 --target-port=8080 >/dev/null && for i in \$(seq 40); do [ \"\$($K get endpoints tkub-web -o jsonpath='{.subsets[0].addresses[*].ip}' | wc -w)\" = 3 ] && exit 0; sleep 0.5; done; exit 1"
# scale 3 -> 5 -> 2, on real containers
ready_is() { [ "$($K get deployment tkub-web -o jsonpath='{.status.readyReplicas}')" = "$1" ] &&
	[ "$($K get pods -l app=tkub-web --no-headers 2>/dev/null | wc -l)" = "$1" ]; }
$K scale deployment tkub-web --replicas=5 >/dev/null
wait_until 90 ready_is 5
check "kubectl scale to 5: five pods Running and Ready" ready_is 5
$K scale deployment tkub-web --replicas=2 >/dev/null
wait_until 90 ready_is 2
check "kubectl scale to 2: three pods go, two stay Ready" ready_is 2
# rolling update to a new image; availability never drops below the 2 replicas minus
# maxUnavailable (25% of 2 rounds down to 0)
$K set image deployment/tkub-web tkub-busybox=tkub-busybox:2 >/dev/null
: >"$tmp/avail"
for _ in $(seq 300); do
	$K get deployment tkub-web -o jsonpath='{.status.availableReplicas} {.status.updatedReplicas} {.status.replicas}{"\n"}' >>"$tmp/avail" 2>/dev/null
	tail -1 "$tmp/avail" | grep -qx '2 2 2' && break
	sleep 0.3
done
img_of() { $K get pods -l app=tkub-web -o jsonpath='{range .items[*]}{.spec.containers[0].image} {end}'; }
check "a rolling update to a new image finishes, every pod on it" bash -c \
	"$K rollout status deployment/tkub-web --timeout=120s >/dev/null && for i in \$(seq 100); do [ \"\$($K get pods -l app=tkub-web -o jsonpath='{range .items[*]}{.spec.containers[0].image} {end}')\" = 'tkub-busybox:2 tkub-busybox:2 ' ] && exit 0; sleep 0.5; done; exit 1"
check "... without the available replicas ever dropping below 2" bash -c "! awk '\$1 != \"\" && \$1 < 2' '$tmp/avail' | grep -q ."
$K rollout undo deployment/tkub-web >/dev/null
check "kubectl rollout undo goes back to the first image" bash -c \
	"$K rollout status deployment/tkub-web --timeout=120s >/dev/null && for i in \$(seq 100); do [ \"\$($K get pods -l app=tkub-web -o jsonpath='{range .items[*]}{.spec.containers[0].image} {end}')\" = '$img $img ' ] && exit 0; sleep 0.5; done; exit 1"
$K delete deployment tkub-web --wait=true --timeout=60s >/dev/null 2>&1
$K delete service tkub-web >/dev/null 2>&1
wait_until 60 bash -c "[ -z \"\$($K get pods -l app=tkub-web -o name)\" ]"
check "deleting the Deployment ends its pods" bash -c "[ -z \"\$($K get pods -l app=tkub-web -o name)\" ]"
check "... and its ReplicaSets" bash -c "[ -z \"\$($K get rs -l app=tkub-web -o name)\" ]"

# --- a Job to completion, and a namespace emptied on delete ---------------------------------
$K create job tkub-job --image=$img -- sh -c 'echo job-done' >/dev/null
job_done() { [ "$($K get job tkub-job -o jsonpath='{.status.succeeded}')" = 1 ]; }
wait_until 90 job_done
check "a Job runs its pod to completion" job_done
check "... whose log is the job's output" bash -c "$K logs job/tkub-job | grep -qx job-done"
$K delete job tkub-job --cascade=foreground --wait=true --timeout=60s >/dev/null 2>&1
$K create namespace tkub-ns >/dev/null
$K -n tkub-ns run tkub-nspod --image=$img --restart=Never --command -- sleep 3600 >/dev/null
wait_until 60 bash -c "[ \"\$($K -n tkub-ns get pod tkub-nspod -o jsonpath='{.status.phase}')\" = Running ]"
$K delete namespace tkub-ns --wait=false >/dev/null
wait_until 90 bash -c "! $K get namespace tkub-ns >/dev/null 2>&1"
check "deleting a namespace stops its pods and removes it" bash -c "! $K get namespace tkub-ns >/dev/null 2>&1"

# --- tug restart: nothing restarts ------------------------------------------------------------------
$K get pods -o jsonpath='{range .items[*]}{.metadata.uid}{"\n"}{end}' >"$tmp/uids"
ids() { $K get pods -l app=tkub -o jsonpath='{range .items[*]}{.metadata.name}={range .status.containerStatuses[*]}{.containerID},{.restartCount};{end}{"\n"}{end}' | grep -Ev '^(crash|init-fail|liveness)=' | sort; }
before=$(ids)
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
check "tug stops with status 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || grep -E -A8 'ERROR|SUMMARY|runtime error' "$tmp/log" | head -60 | sed 's/^/# /'
check "its pods' containers keep running while it is down" bash -c "ps -eo args | grep -q '[s]leep 3600'"
start_tug
wait_until 60 node_ready
wait_until 30 is readiness '{.status.phase}' Running
sleep 3
after=$(ids)
check "after a restart of tug no container was restarted (same IDs, same counts)" test "$before" = "$after"
[ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") | head -10
check "the adopted pods' logs are still served" bash -c "$K logs counter --tail=1 | grep -q line"

# --- containerd restart: recovered from ---------------------------------------------------------------
cpid=$(cat "$tmp/d/containerd/containerd.pid")
kill -KILL "$cpid"
wait_until 30 bash -c "[ -s $tmp/d/containerd/containerd.pid ] && [ \"\$(cat $tmp/d/containerd/containerd.pid)\" != $cpid ]"
wait_until 60 node_ready
check "the node is Ready again after containerd was killed and restarted" node_ready
cat <<Y | $K apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: after-restart, labels: {app: tkub}}
spec:
  nodeName: tkub-node
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: $img, command: [sh, -c, "echo after; exec sleep 3600"]}]
Y
wait_until 60 is after-restart '{.status.phase}' Running
check "new pods start after the containerd restart" is after-restart '{.status.phase}' Running
after2=$(ids | grep -v '^after-restart=')
check "and the running pods were not restarted by it" test "$before" = "$after2"
[ "$before" = "$after2" ] || diff <(echo "$before") <(echo "$after2") | sed 's/^/# /'

# --- the node ----------------------------------------------------------------------------------------------------
r1=$($K -n kube-node-lease get lease tkub-node -o jsonpath='{.spec.renewTime}')
sleep 3
r2=$($K -n kube-node-lease get lease tkub-node -o jsonpath='{.spec.renewTime}')
check "the node's Lease is renewed" bash -c "[ -n '$r1' ] && [ '$r1' != '$r2' ]"
desc=$($K describe node tkub-node 2>&1)
for s in 'Capacity:' 'Allocatable:' 'System Info:' 'Container Runtime Version:  containerd://' \
	'Non-terminated Pods:' 'Allocated resources:' 'Ready *True'; do
	check "kubectl describe node shows $s" grep -Eq "$s" <<<"$desc"
done
check "kubectl describe node lists this node's pods" grep -q 'default *counter' <<<"$desc"

# --- deleting everything cleans the runtime ----------------------------------------------------------
$K get pods -o jsonpath='{range .items[*]}{.metadata.uid}{"\n"}{end}' >>"$tmp/uids"
$K delete pods --all --grace-period=1 --timeout=90s >/dev/null 2>&1
wait_until 60 bash -c "[ -z \"\$($K get pods -A -o name)\" ]"
$K get pods -A >"$tmp/pods-left" 2>&1
left=$("$B/tools/cri_clean" "$EP" 2>"$tmp/clean.err")
[ "$left" = 0 ] || { echo "# pods left:"; sed 's/^/#   /' "$tmp/pods-left" "$tmp/clean.err"; }
check "deleted pods leave no sandboxes in containerd" test "$left" = 0
check "nor volume directories" bash -c "[ -z \"\$(ls $tmp/d/pods)\" ]"
check "nor log directories" bash -c "for u in \$(cat $tmp/uids); do ls -d /var/log/pods/*_\$u 2>/dev/null && exit 1; done; exit 0"
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
check "tug stops cleanly at the end" test "$rc" -eq 0
[ "$rc" -eq 0 ] || grep -E -A8 'ERROR|SUMMARY|runtime error' "$tmp/log" | head -60 | sed 's/^/# /'
echo "# whole test: $((SECONDS - t_create)) s after the pods were created"
finish
