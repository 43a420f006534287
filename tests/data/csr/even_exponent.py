#!/usr/bin/env python3
"""Print a PKCS#10 CSR (PEM) whose RSA key has the even public exponent
65536 and whose self-signature nevertheless verifies, so that only the key
check can refuse it.

No RSA key with an even exponent exists, but s^65536 = m (mod n) can be
solved when n = p*q with p = q = 3 (mod 4) and the encoded message m is a
square modulo p and q: squaring permutes the squares of Z_p*, so
m^(((p+1)/4)^16) is a 2^16-th root of m.  The subject is varied until m is
such a square.  Standard library only.
"""
import base64
import hashlib
import secrets
import sys

E = 65536


def is_probable_prime(n, rounds=40):
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        a = secrets.randbelow(n - 3) + 2
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def prime_3mod4(bits):
    while True:
        c = secrets.randbits(bits) | (3 << (bits - 2)) | 3
        if is_probable_prime(c):
            return c


def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        head = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + head + content


def integer(v):
    return tlv(0x02, v.to_bytes(v.bit_length() // 8 + 1, "big"))


def oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for v in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [v & 0x7F]
        v >>= 7
        while v:
            chunk.append(0x80 | (v & 0x7F))
            v >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, bytes(body))


def seq(*parts):
    return tlv(0x30, b"".join(parts))


def main():
    p = prime_3mod4(1024)
    q = prime_3mod4(1024)
    while q == p:
        q = prime_3mod4(1024)
    n = p * q
    k = (n.bit_length() + 7) // 8
    spki = seq(seq(oid("1.2.840.113549.1.1.1"), b"\x05\x00"),
               tlv(0x03, b"\x00" + seq(integer(n), integer(E))))
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420")
    for i in range(1000):
        cn = "ignored@example.com" if i == 0 else "ignored%d@example.com" % i
        name = seq(tlv(0x31, seq(oid("2.5.4.3"), tlv(0x0C, cn.encode()))))
        cri = seq(integer(0), name, spki, b"\xa0\x00")
        t = digest_info + hashlib.sha256(cri).digest()
        em = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
        m = int.from_bytes(em, "big")
        if pow(m, (p - 1) // 2, p) == 1 and pow(m, (q - 1) // 2, q) == 1:
            break
    else:
        sys.exit("no signable subject found")
    sp = pow(m, pow((p + 1) // 4, 16, p - 1), p)
    sq = pow(m, pow((q + 1) // 4, 16, q - 1), q)
    s = (sp + p * ((sq - sp) * pow(p, -1, q) % q)) % n
    assert pow(s, E, n) == m
    csr = seq(cri, seq(oid("1.2.840.113549.1.1.11"), b"\x05\x00"),
              tlv(0x03, b"\x00" + s.to_bytes(k, "big")))
    b64 = base64.b64encode(csr).decode()
    print("-----BEGIN CERTIFICATE REQUEST-----")
    for i in range(0, len(b64), 64):
        print(b64[i:i + 64])
    print("-----END CERTIFICATE REQUEST-----")


if __name__ == "__main__":
    main()
