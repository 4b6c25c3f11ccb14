package core_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"sync"
)

// Fixed keys, for these tests only: the same in every process, so that tokens a fuzz
// coordinator signs verify in its workers, and no test pays for RSA key generation.
var (
	rsaPriv = sync.OnceValue(func() *rsa.PrivateKey { return parsePEM(rsaPEM).(*rsa.PrivateKey) })
	ecPriv  = sync.OnceValue(func() *ecdsa.PrivateKey { return parsePEM(ecPEM).(*ecdsa.PrivateKey) })
	edPriv  = sync.OnceValue(func() ed25519.PrivateKey { return parsePEM(edPEM).(ed25519.PrivateKey) })
)

func parsePEM(s string) any {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		panic("bad test key PEM")
	}
	return must(x509.ParsePKCS8PrivateKey(b.Bytes))
}

// rsaPEM is a RSA 2048 key generated for these tests.
const rsaPEM = `-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDqzZbnAeuMj5/d
aUNRD23kqMk+peNTY0woB2tvA0khu1k1BcjjS3ylySjo39sI+lR44n+C0o+lnhVU
ICikY7JjsfT1WU/IrXwcYTUP1lNw8bwbUkQ1+AS1jHFMTJD2r8B9gSqCzJelEWse
X+00tJur7rzQSmwY4kO7tjlhLmspUrzsDrewqTdJacvhMuE6a80Ea7l5yv9aOXld
Qp2kKZrb7KuEVhYO+ydTVre0yQ6REfZ2P3j252OKJNgal50uhzcs+ZaTezVsempg
U0ebhbZ1Cpu/6YrIxhKwClYQQtmR9EMVlLEzB2o9pACHSeV8HmaQpuEkbMzdv2mO
zYzrexjBAgMBAAECggEAAaabEmpPCmjlChNlhy6WTC/WqKDA2yDB9QD/n4fIvzl0
2VJnBF4COcs4OpgAwDqk8o6qDXSlTmhPGhRZQZn3gu1Oty7OCcbTarOXBXo/OWPO
D+NCCOTGMfTI5Km1AAHDqsN1rkEDEvtML+/mrkWsLbbW2il+/MXMzHlPd6Mw0YoE
QVJrDDS9+SK+mPuv1+AxNV7dQ4BWFqMtDoS5JATXn/ejYOFjFNHFKTNso/IbB/xi
6G+N9ln3ITiMB1J5LT3IAlHFZrzDP8kIwREoGMkXkr0Q2cDtZ1mhDpDjO7EG38O/
FMuWoJ1kVc4vfC6TJtwZ14uOmwHnQf39ic5v14brSQKBgQD97FkonCrhPXwn6/em
7gg5HFuXjDNzIWXJbaFUkE9NjIWkJ0YK60+bIGeh1Zg7w7vCQwV3jJFsCpI6NDjy
iHIU9IhP8+4x99K1J8SveAsd1epvGdF1W9PTMvvjB++x6fqWSJbXxS8GqQYVW+se
YeRaxNAf2524vzmc8/5LloNxJwKBgQDsuTVX670Hhb2+k3MOS6RVhKlEWpxXeZBb
XzIIHVufB0fqPqznyh6JjutGOcDMEFo7n2wxP8lqZ2gukeHatcYW3uanA9n5/72x
WKEZxuRTDbqYv172Izw//HiW6mZ1WAITDaetrScUXRdFmUPKz5C2rEqer2xWbMjv
H9gOrmkH1wKBgCn2+Jk0jgWhkrZKUih9aFB/9kcqfYpGd7r9ak8+dky7r458ix/c
2dAqX9YoJbui0pH9X5btXU88xAPog4zZrfj2nNyR1MjfSyxzQRc6wKOSqebonmxF
29EouOZBdoSxxZ82qe9JAEeagY3gHhBsXz/9DORm+D8DI3NkA5/cZSa7AoGAdUxI
rGo5XnLc1IQHrPu6UE3N+frUIVwxNbVz+yVg8uoOrnmj/67ddtgEqOWRLQylSYnz
eGvdCAZ5TyomOdN8dnS44eU8q24XtrruCPHOzYCuB2Y8Tcaj4ijeMBmx709Op9ZK
UfrMtIB0OZ56QxKa6Ily6DKQgjqhTiv/STcPAD0CgYBikUm2T8d+7pLVNGXu9hYA
GF1J/scaQK7o1EzGcGY+VOvKQnyBq9VDC1gGNMlDDa2PGCuHmtgXcBV/GTedFIOH
IZyZfRGUJTMKC3/P82Gur+aY3Q/bBdzcwxHeccRjm6buPWfj7xhR4E8vn4sH2Qtm
8N+xTgTVYS23DSvqMdoITw==
-----END PRIVATE KEY-----
`

// ecPEM is a ECDSA P-256 key generated for these tests.
const ecPEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgY3k8mcWpEjGSQywb
DwGRJPEh7VW4uMcdPvXyiGUSMQehRANCAAQFfr5Fyvpg8sB72xE8FNGACxSwEBsr
30pI6mWEBBhhYDuGpCEppjAL4ztTInojTVURTZa773yErzCtfFwXe4mB
-----END PRIVATE KEY-----
`

// edPEM is a Ed25519 key generated for these tests.
const edPEM = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEILGW9cYg+YLoY/gIDILj8HCsEt8gtAaKg3iwweEzCxbX
-----END PRIVATE KEY-----
`
