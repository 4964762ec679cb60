# http: core/http against real clients (curl, python, openssl) over plain HTTP and TLS, good
# requests and bad ones, through the httpd test tool. Loopback only.
. "$TOP/test/lib.sh"
HTTPD=${TUG_BUILD:-$TOP/build}/tools/httpd
tmp=$(mktemp -d /tmp/tug-e2e-http.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ ! -x "$HTTPD" ]; then
	fail "httpd tool not built ($HTTPD)"
	finish
	exit 1
fi

# start <name> <args...>: runs httpd in the background; its port ends up in $tmp/<name>.port.
start() {
	local name=$1
	shift
	"$HTTPD" --port-file "$tmp/$name.port" "$@" 2>"$tmp/$name.log" &
	pids+=($!)
	eval "${name}_pid=$!"
	for _ in $(seq 100); do [ -s "$tmp/$name.port" ] && break; sleep 0.05; done
	eval "${name}_port=$(cat "$tmp/$name.port")"
}

# Certificates for the TLS listener: a CA, a server certificate for 127.0.0.1, a client.
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/$1.key" 2>/dev/null; }
key ca
openssl req -x509 -new -key "$tmp/ca.key" -subj "/CN=e2e-ca" -days 2 -out "$tmp/ca.crt" 2>/dev/null
leaf() { # name subject extensions
	key "$1"
	openssl req -new -key "$tmp/$1.key" -subj "$2" -out "$tmp/$1.csr" 2>/dev/null
	printf '%s\n' "$3" >"$tmp/$1.ext"
	openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
		-days 2 -extfile "$tmp/$1.ext" -out "$tmp/$1.crt" 2>/dev/null
}
leaf server "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1"
leaf bob "/O=admins/O=dev/CN=bob" "extendedKeyUsage=clientAuth"

head -c 5000000 /dev/urandom >"$tmp/blob"
start plain --header-timeout-ms 800 --file "$tmp/blob"
start tls --cert "$tmp/server.crt" --key "$tmp/server.key" --client-ca "$tmp/ca.crt" \
	--header-timeout-ms 800
P=http://127.0.0.1:$plain_port
S=https://127.0.0.1:$tls_port

# --- plain HTTP with curl ---------------------------------------------------------------
out=$(curl -sS -v "$P/json" "$P/json" 2>&1)
check "curl: two GETs share one keep-alive connection" grep -q "Re-using existing connection" <<<"$out"
code=$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' --http1.0 "$P/json")
check "curl: HTTP/1.0 request is answered" test "${code%% *}" = 200
sum_got=$(curl -sS "$P/file" | sha256sum | cut -d' ' -f1)
sum_want=$(sha256sum <"$tmp/blob" | cut -d' ' -f1)
check "curl: a 5 MB file arrives intact (sendfile)" test "$sum_got" = "$sum_want"
hdrs=$(curl -sS -I "$P/file")
check "curl: HEAD gives the length and no body" grep -qi "^Content-Length: 5000000" <<<"$hdrs"
head -c 2000000 /dev/urandom >"$tmp/up"
out=$(curl -sS -H "Transfer-Encoding: chunked" --data-binary @"$tmp/up" "$P/echo" 2>/dev/null | head -c 20)
check "curl: a chunked 2 MB upload is decoded" grep -q "^2000000:" <<<"$out"
code=$(head -c 10485760 /dev/zero | curl -sS -o "$tmp/413" -w '%{http_code}' --data-binary @- "$P/echo")
check "curl: a 10 MiB body is refused with 413" test "$code" = 413
out=$(curl -sS "$P/stream")
check "curl: a chunked stream arrives whole" test "$out" = "$(printf 'event 3\nevent 2\nevent 1')"
out=$(curl -sS "$P/async")
check "curl: an asynchronous answer arrives" test "$out" = async
code=$(curl -sS -o /dev/null -w '%{http_code}' "$P/nope")
check "curl: unknown path is 404" test "$code" = 404

# --- bad and awkward clients, byte by byte with python ------------------------------------
cat >"$tmp/raw.py" <<'EOF'
import socket, sys, time, threading
port = int(sys.argv[1])
def ask(data, shut=False, wait=0.0, whole=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    if wait: time.sleep(wait)
    if shut: s.shutdown(socket.SHUT_WR)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b: break
            out += b
            if b"\r\n\r\n" in out and not (shut or whole) and b"Connection: close" not in out:
                break
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out
def status(data, **kw):
    out = ask(data, **kw)
    return int(out.split(b" ")[1]) if out.startswith(b"HTTP/1.1 ") else 0
cases = [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"GET /json HTTP/9.9\r\nHost: x\r\n\r\n", 505),
    (b"GET /json HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400),
    (b"GET /json HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400),
    (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /json HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"b" * 70000 + b"\r\n\r\n", 431),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
]
bad = [(c, e, status(c)) for c, e in cases]
for c, e, got in bad:
    print("case", c[:30], "want", e, "got", got)
ok = all(g == e for _, e, g in bad)
print("malformed", "ok" if ok else "FAIL")
# Half-closed: the request is sent, then the write side shut; the answer still comes.
out = ask(b"GET /async HTTP/1.1\r\nHost: x\r\n\r\n", shut=True)
print("halfclose", "ok" if out.startswith(b"HTTP/1.1 200") and out.endswith(b"async\n") else "FAIL")
# Slow client: half a head and then silence gets 408 once the head deadline passes.
print("slow", "ok" if status(b"GET /json HTTP/1.1\r\nHo", wait=0) == 408 else "FAIL")
# Pipelined requests in one write come back in order.
out = ask(b"GET /async HTTP/1.1\r\nHost: x\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", whole=True)
print("pipeline", "ok" if out.find(b"async") < out.find(b'"kind":"Pod"') and out.count(b"HTTP/1.1 200") == 2 else "FAIL")
# Many connections at once, each asking once.
# (Each asks as it connects: a connection silent past the head deadline is closed.)
N = 400
socks = []
for _ in range(N):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(b"GET /async HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
good = 0
for s in socks:
    buf = b""
    while not buf.endswith(b"async\n"):
        b = s.recv(4096)
        if not b: break
        buf += b
    good += buf.startswith(b"HTTP/1.1 200")
    s.close()
print("many", "ok" if good == N else "FAIL %d/%d" % (good, N))
# Connections that vanish mid-request do not hurt anyone.
for _ in range(50):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
    s.close()
print("still-up", "ok" if status(b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n") == 200 else "FAIL")
EOF
python3 "$tmp/raw.py" "$plain_port" >"$tmp/raw.out" 2>&1
for t in malformed halfclose slow pipeline many still-up; do
	check "python raw socket: $t" grep -q "^$t ok" "$tmp/raw.out"
done
grep -q "^malformed ok" "$tmp/raw.out" || grep "^case" "$tmp/raw.out" | sed 's/^/# /'
grep -v "^case\| ok$" "$tmp/raw.out" | sed 's/^/# /'

# --- TLS --------------------------------------------------------------------------------------
out=$(curl -sS --cacert "$tmp/ca.crt" "$S/whoami")
check "curl TLS: no client certificate is anonymous" test "$out" = "user=(anonymous) groups="
out=$(curl -sS --cacert "$tmp/ca.crt" --cert "$tmp/bob.crt" --key "$tmp/bob.key" "$S/whoami")
check "curl TLS: client certificate gives user and groups" test "$out" = "user=bob groups=admins,dev"
out=$(curl -sS -v --cacert "$tmp/ca.crt" "$S/json" 2>&1)
check "curl TLS: ALPN settles on http/1.1 though curl offers h2" grep -q "ALPN: server accepted http/1.1" <<<"$out"
echo | openssl s_client -connect "127.0.0.1:$tls_port" -alpn h2,http/1.1 -CAfile "$tmp/ca.crt" \
	>"$tmp/s_client" 2>&1
check "openssl s_client: handshake verifies and picks http/1.1" \
	bash -c "grep -q 'ALPN protocol: http/1.1' '$tmp/s_client' && grep -q 'Verify return code: 0' '$tmp/s_client'"
out=$(python3 - "$tls_port" "$tmp" <<'EOF'
import ssl, http.client, sys
port, d = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=d + "/ca.crt")
ctx.load_cert_chain(d + "/bob.crt", d + "/bob.key")
c = http.client.HTTPSConnection("localhost", port, context=ctx)
res = []
for p in ["/whoami", "/json", "/stream", "/async"]:
    c.request("GET", p)
    r = c.getresponse()
    res.append("%d %s" % (r.status, r.read().decode().split("\n")[0][:26]))
print("|".join(res))
EOF
)
check "python ssl: keep-alive requests over one TLS connection" \
	test "$out" = '200 user=bob groups=admins,dev|200 {"kind":"Pod","apiVersion"|200 event 3|200 async'
code=$(curl -sS -o "$tmp/plain-on-tls" -w '%{http_code}' "http://127.0.0.1:$tls_port/json")
check "plain HTTP to the TLS port gets 400" \
	bash -c "[ $code = 400 ] && grep -q 'HTTP request to an HTTPS server' '$tmp/plain-on-tls'"
python3 -c "
import socket
for junk in [b'\x16\x03\x01\x00\x04abcd', b'\x00' * 100, b'\x16\x03\x03' + b'\xff' * 3000]:
    s = socket.create_connection(('127.0.0.1', $tls_port)); s.sendall(junk); s.settimeout(5)
    try: s.recv(100)
    except Exception: pass
    s.close()
"
out=$(curl -sS --cacert "$tmp/ca.crt" "$S/json" | head -c 12)
check "TLS garbage does not take the listener down" test "$out" = '{"kind":"Pod'

# --- shutdown ---------------------------------------------------------------------------------
# A client whose stream has begun when SIGTERM arrives still gets all of it.
cat >"$tmp/inflight.py" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
out = s.recv(4096)
open(sys.argv[2] + "/stream-started", "w").close()
while True:
    b = s.recv(4096)
    if not b:
        break
    out += b
open(sys.argv[2] + "/last-stream", "wb").write(out)
EOF
python3 "$tmp/inflight.py" "$plain_port" "$tmp" &
cpid=$!
for _ in $(seq 100); do [ -e "$tmp/stream-started" ] && break; sleep 0.02; done
kill -TERM "$plain_pid" "$tls_pid"
wait "$plain_pid"
rc1=$?
wait "$tls_pid"
rc2=$?
wait "$cpid"
pids=()
check "SIGTERM shuts both servers down cleanly" test "$rc1" -eq 0 -a "$rc2" -eq 0
check "a response in flight when SIGTERM came was finished" \
	grep -q 'event 1' "$tmp/last-stream"
finish
