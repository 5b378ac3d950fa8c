#!/bin/sh
# gen-certs.sh DIR -- make the throw-away PKI of the TLS tests in DIR.
#
# Nothing it makes is committed: the tests run it at start into a temp
# directory (t/lib/Test/Portcullis/TLS.pm), so no private key ever lives
# in the repository.  Uses only the openssl CLI.  EC P-256 keys (fast to
# make) except the RSA server pair.
#
#   server-ca.crt                 issues every server certificate
#   server-rsa.{crt,key}          RSA 2048: localhost, a.test, *.wild.test, 127.0.0.1
#   server-ec.{crt,key}           ECDSA P-256, same names
#   server-b.{crt,key}            b.test
#   server-soon.{crt,key}         localhost, expires in 10 days
#   server-expired.{crt,key}      localhost, expired in 2020
#   ca1.crt ca2.crt               two client CAs (rotation)
#   client1.{crt,key}             CN=client1, by ca1
#   client2.{crt,key}             CN=client2, by ca2
#   client-expired.{crt,key}      by ca1, expired in 2020
#   client-revoked.{crt,key}      by ca1, revoked in crl1.pem
#   crl1.pem                      ca1's CRL
#   int1.crt                      intermediate CA under ca1
#   client-deep.{crt,key}         by int1; client-deep-chain.crt = leaf + int1
#   client-self.{crt,key}         self-signed (unknown CA)
#   ca-soon.crt                   a client CA expiring in 5 days
#   garbage.pem                   not PEM at all
set -eu

dir=${1:?usage: gen-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
dir=$(pwd)
ossl() { openssl "$@" 2>/dev/null; }

eckey() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# mkca NAME SUBJECT [DAYS]: self-signed CA with an `openssl ca` database.
mkca() {
    mkdir -p "$1.db"
    : >"$1.db/index.txt"
    echo 1000 >"$1.db/serial"
    echo 1000 >"$1.db/crlnumber"
    cat >"$1.cnf" <<EOF
[ ca ]
default_ca = this
[ this ]
dir = $dir/$1.db
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
policy = any
default_days = 30
default_crl_days = 30
unique_subject = no
copy_extensions = copy
[ any ]
commonName = supplied
organizationName = optional
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ server ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
[ client ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EOF
    eckey "$1.key"
    ossl req -x509 -new -key "$1.key" -sha256 -days "${3:-3650}" -subj "$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.crt"
}

# sign CA NAME SUBJECT EXT [ca options...]: NAME.key (made if missing) -> NAME.crt
sign() {
    ca=$1 name=$2 subj=$3 ext=$4
    shift 4
    [ -f "$name.key" ] || eckey "$name.key"
    san=
    [ "$ext" = server ] && san=${SAN:-DNS:localhost,DNS:a.test,DNS:*.wild.test,IP:127.0.0.1}
    if [ -n "$san" ]; then
        ossl req -new -key "$name.key" -subj "$subj" -addext "subjectAltName=$san" -out "$name.csr"
    else
        ossl req -new -key "$name.key" -subj "$subj" -out "$name.csr"
    fi
    ossl ca -batch -notext -config "$ca.cnf" -cert "$ca.crt" -keyfile "$ca.key" \
        -extensions "$ext" -in "$name.csr" -out "$name.crt" "$@"
    rm -f "$name.csr"
}

past="-startdate 20200101000000Z -enddate 20200201000000Z"

mkca server-ca "/O=Portcullis tests/CN=Test Server CA"
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server-rsa.key
sign server-ca server-rsa "/CN=localhost" server -days 90
sign server-ca server-ec "/CN=localhost" server -days 90
SAN=DNS:b.test sign server-ca server-b "/CN=b.test" server -days 90
sign server-ca server-soon "/CN=localhost" server -days 10
# shellcheck disable=SC2086
sign server-ca server-expired "/CN=localhost" server $past

mkca ca1 "/O=Portcullis tests/CN=Client CA 1"
mkca ca2 "/O=Portcullis tests/CN=Client CA 2"
mkca ca-soon "/O=Portcullis tests/CN=Client CA soon" 5
sign ca1 client1 "/O=Portcullis tests/CN=client1" client -days 90
sign ca2 client2 "/O=Portcullis tests/CN=client2" client -days 90
# shellcheck disable=SC2086
sign ca1 client-expired "/CN=client-expired" client $past
sign ca1 client-revoked "/CN=client-revoked" client -days 90
ossl ca -batch -config ca1.cnf -cert ca1.crt -keyfile ca1.key -revoke client-revoked.crt
ossl ca -batch -config ca1.cnf -cert ca1.crt -keyfile ca1.key -gencrl -out crl1.pem

# ca1 -> int1 -> client-deep: one level more than ssl_verify_depth 1 allows.
sign ca1 int1 "/CN=Intermediate 1" v3_ca -days 90
mkca int1-tmp "/CN=unused" >/dev/null
cp int1-tmp.cnf int1.cnf
sed -i "s|$dir/int1-tmp.db|$dir/int1.db|" int1.cnf
mkdir -p int1.db
: >int1.db/index.txt
echo 2000 >int1.db/serial
sign int1 client-deep "/CN=client-deep" client -days 90
cat client-deep.crt int1.crt >client-deep-chain.crt

eckey client-self.key
ossl req -x509 -new -key client-self.key -sha256 -days 30 -subj "/CN=client-self" -out client-self.crt

printf 'this is not a certificate\n' >garbage.pem
rm -rf ./*.db ./*.cnf int1-tmp.*
echo "gen-certs: done in $dir"
