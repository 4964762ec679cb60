#!/usr/bin/env bash
# Regenerates test/unit/http_test_certs.h: ECDSA P-256 fixtures for the TLS tests of core/http,
# valid for 100 years so the tests never depend on the date. Run from the repository top.
set -euo pipefail
out=$PWD/test/unit/http_test_certs.h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
ca() { # name subject
	key "$1"
	openssl req -x509 -new -key "$1.key" -subj "$2" -days 36500 -sha256 \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out "$1.crt"
}
leaf() { # name subject extensions ca
	key "$1"
	openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
	printf '%s\n' "$3" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$4.crt" -CAkey "$4.key" -CAcreateserial -days 36500 \
		-sha256 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
ca ca "/CN=tug-test-ca"
ca other "/CN=other-ca"
leaf server "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth" ca
leaf alice "/O=dev/O=ops/CN=alice" "extendedKeyUsage=clientAuth" ca
leaf mallory "/CN=mallory" "extendedKeyUsage=serverAuth" ca
leaf nocn "/O=system:masters" "extendedKeyUsage=clientAuth" ca
leaf eve "/CN=eve/O=system:masters" "extendedKeyUsage=clientAuth" other
{
	echo "/* http_test_certs: TLS fixtures for http_test, made by test/unit/http_test_certs.sh. */"
	for f in ca.crt server.crt server.key alice.crt alice.key mallory.crt mallory.key \
		nocn.crt nocn.key eve.crt eve.key; do
		name=$(echo "$f" | tr . _)
		echo "static const char ${name}[] ="
		sed 's/^/\t"/; s/$/\\n"/' "$f"
		echo "\t;"
	done
} | sed 's/^\\t;/\t;/' >"$out"
clang-format -i "$out"
echo "wrote $out"
