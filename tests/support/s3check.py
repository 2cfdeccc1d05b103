#!/usr/bin/env python3
"""Independent S3 oracle for the integration tests (standard library only).

It shares no code with sluice's own S3 client, so a bug in sluice's signer or XML parsing
cannot hide a leftover object or a wrong byte from a test's assertions.

usage: s3check.py [--endpoint URL] [--cacert PEM] [--timeout SECS] COMMAND BUCKET [KEY]
  create-bucket B        create bucket B
  list B [--prefix P] [--max-keys N]   JSON list of {"key","size","etag"} (all pages)
  uploads B [--max-keys N]             JSON list of in-progress multipart uploads {"key","upload_id"}
  get B K                object bytes on stdout
  head B K [--checksum-mode]   JSON {"size","etag","headers"} (with x-amz-checksum-mode: ENABLED)
  put B K [--file F] [--chunked]   upload stdin (or F); prints the ETag
  delete B K             delete one object
  create-upload B K      start a multipart upload; prints its UploadId
  abort-upload B K ID    abort a multipart upload
  put-policy B           set bucket B's policy to the JSON document on stdin
Credentials and defaults come from SLUICE_TEST_S3_{ENDPOINT,REGION,KEY_ID,SECRET}.
Exit status: 0 ok, 3 no such key/bucket, 1 any other failure (one line on stderr).
"""

import argparse
import datetime
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import ssl
import sys
import urllib.parse
import xml.etree.ElementTree as ET

UNSIGNED = "UNSIGNED-PAYLOAD"


class S3Error(Exception):
    def __init__(self, status, code, message):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code


def quote(s, safe):
    return urllib.parse.quote(s, safe=safe)


class Client:
    def __init__(self, endpoint, region, key_id, secret, cacert, timeout):
        u = urllib.parse.urlsplit(endpoint)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"bad endpoint {endpoint!r}")
        self.scheme = u.scheme
        self.host = u.hostname
        self.port = u.port or (443 if u.scheme == "https" else 80)
        self.hostport = u.netloc
        self.region, self.key_id, self.secret = region, key_id, secret
        self.cacert, self.timeout = cacert, timeout

    def _conn(self):
        if self.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.cacert)
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _sign(self, method, path, query, headers, payload_hash):
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        headers["host"] = self.hostport
        headers["x-amz-date"] = amz_date
        headers["x-amz-content-sha256"] = payload_hash
        canon_query = "&".join(
            f"{quote(k, '~')}={quote(v, '~')}" for k, v in sorted(query.items()))
        names = sorted(h.lower() for h in headers)
        lower = {k.lower(): str(v).strip() for k, v in headers.items()}
        canon_headers = "".join(f"{n}:{lower[n]}\n" for n in names)
        signed = ";".join(names)
        creq = "\n".join([method, quote(path, "/~"), canon_query, canon_headers, signed, payload_hash])
        scope = f"{day}/{self.region}/s3/aws4_request"
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + self.secret).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.key_id}/{scope}, SignedHeaders={signed}, Signature={sig}")

    def request(self, method, bucket, key=None, query=None, body=b"", chunked=False, extra=None):
        """Returns (status, headers, body bytes); raises S3Error on a non-2xx answer.
        `extra` headers are sent and signed."""
        query = query or {}
        path = "/" + bucket + ("/" + key if key is not None else "")
        headers = dict(extra or {})
        if chunked:
            self._sign(method, path, query, headers, UNSIGNED)
        else:
            self._sign(method, path, query, headers, hashlib.sha256(body).hexdigest())
        target = quote(path, "/~")
        if query:
            target += "?" + "&".join(f"{quote(k, '~')}={quote(v, '~')}" for k, v in sorted(query.items()))
        conn = self._conn()
        try:
            if chunked:
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for k, v in headers.items():
                    conn.putheader(k, v)
                conn.putheader("transfer-encoding", "chunked")
                conn.endheaders()
                step = 64 * 1024
                for i in range(0, len(body), step):
                    chunk = body[i:i + step]
                    conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                conn.send(b"0\r\n\r\n")
            else:
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for k, v in headers.items():
                    conn.putheader(k, v)
                conn.putheader("content-length", str(len(body)))
                conn.endheaders(body if body else None)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status // 100 != 2:
                code, msg = "", data[:200].decode("utf-8", "replace")
                if data:
                    try:
                        root = strip_ns(ET.fromstring(data))
                        code = root.findtext("Code") or ""
                        msg = root.findtext("Message") or ""
                    except ET.ParseError:
                        pass
                elif resp.status == 404:
                    code = "NotFound"
                raise S3Error(resp.status, code, msg.replace("\n", " "))
            return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), data
        finally:
            conn.close()


def strip_ns(root):
    for el in root.iter():
        if "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


def cmd_list(c, a):
    out, token = [], None
    while True:
        q = {"list-type": "2"}
        if a.max_keys:
            q["max-keys"] = str(a.max_keys)
        if a.prefix:
            q["prefix"] = a.prefix
        if token:
            q["continuation-token"] = token
        root = strip_ns(ET.fromstring(c.request("GET", a.bucket, query=q)[2]))
        for o in root.findall("Contents"):
            out.append({"key": o.findtext("Key"), "size": int(o.findtext("Size")),
                        "etag": (o.findtext("ETag") or "").strip('"')})
        if root.findtext("IsTruncated") != "true":
            break
        token = root.findtext("NextContinuationToken")
    print(json.dumps(out))


def cmd_uploads(c, a):
    out, km, um = [], None, None
    while True:
        q = {"uploads": ""}
        if a.max_keys:
            q["max-uploads"] = str(a.max_keys)
        if km is not None:
            q["key-marker"] = km
            q["upload-id-marker"] = um or ""
        root = strip_ns(ET.fromstring(c.request("GET", a.bucket, query=q)[2]))
        for u in root.findall("Upload"):
            out.append({"key": u.findtext("Key"), "upload_id": u.findtext("UploadId")})
        if root.findtext("IsTruncated") != "true":
            break
        km, um = root.findtext("NextKeyMarker"), root.findtext("NextUploadIdMarker")
    print(json.dumps(out))


def sse_c_headers(a):
    """SSE-C headers from --sse-c-key-file (32 raw bytes), as sluice's tests use them."""
    if not getattr(a, "sse_c_key_file", None):
        return {}
    with open(a.sse_c_key_file, "rb") as f:
        key = f.read()
    return {"x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
            "x-amz-server-side-encryption-customer-key-md5": base64.b64encode(hashlib.md5(key).digest()).decode()}


def cmd_tagging(c, a):
    root = strip_ns(ET.fromstring(c.request("GET", a.bucket, a.key, query={"tagging": ""})[2]))
    print(json.dumps({t.findtext("Key"): t.findtext("Value") for t in root.iter("Tag")}))


def cmd_versions(c, a):
    root = strip_ns(ET.fromstring(c.request("GET", a.bucket, query={"versions": ""})[2]))
    out = [{"key": v.findtext("Key"), "version_id": v.findtext("VersionId"), "marker": v.tag == "DeleteMarker"}
           for v in root if v.tag in ("Version", "DeleteMarker")]
    print(json.dumps(out))


def cmd_head(c, a):
    extra = dict(sse_c_headers(a))
    if a.checksum_mode:
        extra["x-amz-checksum-mode"] = "ENABLED"
    _, h, _ = c.request("HEAD", a.bucket, a.key, extra=extra or None)
    print(json.dumps({"size": int(h.get("content-length", "0")),
                      "etag": h.get("etag", "").strip('"'), "headers": h}))


def cmd_put(c, a):
    if a.file:
        with open(a.file, "rb") as f:
            body = f.read()
    else:
        body = sys.stdin.buffer.read()
    _, h, _ = c.request("PUT", a.bucket, a.key, body=body, chunked=a.chunked)
    print(h.get("etag", "").strip('"'))


def main():
    p = argparse.ArgumentParser(prog="s3check.py")
    p.add_argument("--endpoint", default=os.environ.get("SLUICE_TEST_S3_ENDPOINT"))
    p.add_argument("--cacert")
    p.add_argument("--timeout", type=float, default=30.0)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("create-bucket", "list", "uploads", "put-policy", "versions"):
        sp = sub.add_parser(name)
        sp.add_argument("bucket")
        if name == "create-bucket":
            sp.add_argument("--object-lock", action="store_true", help="with Object Lock enabled")
        if name == "list":
            sp.add_argument("--prefix")
        if name in ("list", "uploads"):
            sp.add_argument("--max-keys", type=int, help="page size (to exercise paging)")
    for name in ("get", "head", "put", "delete", "create-upload", "abort-upload", "parts", "tagging"):
        sp = sub.add_parser(name)
        sp.add_argument("bucket")
        sp.add_argument("key")
        if name in ("get", "head"):
            sp.add_argument("--sse-c-key-file")
        if name == "delete":
            sp.add_argument("--version-id")
        if name in ("abort-upload", "parts"):
            sp.add_argument("upload_id")
        if name == "put":
            sp.add_argument("--file")
            sp.add_argument("--chunked", action="store_true")
        if name == "head":
            sp.add_argument("--checksum-mode", action="store_true")
    a = p.parse_args()
    env = os.environ
    missing = [v for v in ("SLUICE_TEST_S3_KEY_ID", "SLUICE_TEST_S3_SECRET") if not env.get(v)]
    if not a.endpoint or missing:
        sys.exit("s3check: SLUICE_TEST_S3_* not set (run `make test`)")
    c = Client(a.endpoint, env.get("SLUICE_TEST_S3_REGION", "garage"), env["SLUICE_TEST_S3_KEY_ID"],
               env["SLUICE_TEST_S3_SECRET"], a.cacert, a.timeout)
    what = f"{a.cmd} {a.bucket}" + (f"/{a.key}" if getattr(a, "key", None) else "")
    try:
        if a.cmd == "create-bucket":
            lock = {"x-amz-bucket-object-lock-enabled": "true"} if a.object_lock else {}
            c.request("PUT", a.bucket, extra=lock)
        elif a.cmd == "tagging":
            cmd_tagging(c, a)
        elif a.cmd == "versions":
            cmd_versions(c, a)
        elif a.cmd == "list":
            cmd_list(c, a)
        elif a.cmd == "uploads":
            cmd_uploads(c, a)
        elif a.cmd == "get":
            sys.stdout.buffer.write(c.request("GET", a.bucket, a.key, extra=sse_c_headers(a))[2])
        elif a.cmd == "head":
            cmd_head(c, a)
        elif a.cmd == "put":
            cmd_put(c, a)
        elif a.cmd == "delete":
            c.request("DELETE", a.bucket, a.key, query={"versionId": a.version_id} if a.version_id else None)
        elif a.cmd == "create-upload":
            body = c.request("POST", a.bucket, a.key, query={"uploads": ""})[2]
            # Not parsed as XML: servers echo the key raw, and a control character in it makes
            # the answer ill-formed (Garage).
            m = re.search(rb"<UploadId>([^<]+)</UploadId>", body)
            if not m:
                raise ValueError(f"no UploadId in {body[:200]!r}")
            print(m.group(1).decode())
        elif a.cmd == "abort-upload":
            c.request("DELETE", a.bucket, a.key, query={"uploadId": a.upload_id})
        elif a.cmd == "parts":
            # ListParts (first page): proves an upload listed by ListMultipartUploads exists.
            body = c.request("GET", a.bucket, a.key, query={"uploadId": a.upload_id})[2]
            print(len(strip_ns(ET.fromstring(body)).findall("Part")))
        elif a.cmd == "put-policy":
            c.request("PUT", a.bucket, query={"policy": ""}, body=sys.stdin.buffer.read())
    except S3Error as e:
        print(f"s3check: {what}: {e}", file=sys.stderr)
        sys.exit(3 if e.status == 404 else 1)
    except (OSError, http.client.HTTPException, ET.ParseError, ValueError) as e:
        print(f"s3check: {what}: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
