#!/usr/bin/env python3
"""Ticket generator for bench/mod_sso.sh: one cookie value per line.

  mod_sso_tickets.py sso    OUT COUNT SECRET_KEY SERVICE DOMAIN TTL [TAG]
  mod_sso_tickets.py pubtkt OUT COUNT RSA_KEY_PEM TTL [TAG]
  mod_sso_tickets.py tkt    OUT COUNT SECRET TTL [TAG]

Every ticket is distinct (user u<TAG>-<i>). sso: ai-sso v4 wire form
(base64url(Ed25519 signature || content)), from a raw 64-byte or PEM secret
key. pubtkt: mod_auth_pubtkt's RSA/SHA-1 ticket, URL-encoded (as that module
wants its cookie), expiry capped before 2038. tkt: mod_auth_tkt's MD5 ticket
with IP 0.0.0.0 (TKTAuthIgnoreIP on), base64-encoded.
"""
import base64
import hashlib
import os
import struct
import sys
import time
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding


def sso(out, count, key_path, service, domain, ttl, tag):
    data = open(key_path, "rb").read()
    if data.startswith(b"-----"):
        key = serialization.load_pem_private_key(data, password=None)
    else:
        key = ed25519.Ed25519PrivateKey.from_private_bytes(data[:32])
    expires = int(time.time()) + ttl
    with open(out, "w") as f:
        for i in range(count):
            content = f"4|u{tag}-{i}|{service}|{domain}|{expires}||".encode()
            sig = key.sign(content)
            f.write(base64.urlsafe_b64encode(sig + content).decode() + "\n")


def pubtkt(out, count, key_path, ttl, tag):
    key = serialization.load_pem_private_key(open(key_path, "rb").read(), password=None)
    until = min(int(time.time()) + ttl, 2**31 - 10)
    with open(out, "w") as f:
        for i in range(count):
            body = f"uid=u{tag}-{i};validuntil={until}"
            sig = key.sign(body.encode(), padding.PKCS1v15(), hashes.SHA1())
            ticket = f"{body};sig={base64.b64encode(sig).decode()}"
            f.write(urllib.parse.quote(ticket, safe="") + "\n")


def tkt(out, count, secret, ttl, tag):
    del ttl  # mod_auth_tkt's timeout counts from the ticket's timestamp
    ts = int(time.time())
    ipts = bytes([0, 0, 0, 0]) + struct.pack("!I", ts)
    secret_b = secret.encode()
    with open(out, "w") as f:
        for i in range(count):
            uid = f"u{tag}-{i}"
            d0 = hashlib.md5(ipts + secret_b + uid.encode() + b"\0" + b"" + b"\0" + b"").hexdigest()
            d = hashlib.md5(d0.encode() + secret_b).hexdigest()
            value = f"{d}{ts:08x}{uid}!"
            f.write(base64.b64encode(value.encode()).decode() + "\n")


def main(argv):
    kind, out, count = argv[1], argv[2], int(argv[3])
    rest = argv[4:]
    if kind == "sso":
        sso(out, count, rest[0], rest[1], rest[2], int(rest[3]), rest[4] if len(rest) > 4 else "")
    elif kind == "pubtkt":
        pubtkt(out, count, rest[0], int(rest[1]), rest[2] if len(rest) > 2 else "")
    elif kind == "tkt":
        tkt(out, count, rest[0], int(rest[1]), rest[2] if len(rest) > 2 else "")
    else:
        sys.exit(f"unknown kind {kind}")


if __name__ == "__main__":
    main(sys.argv)
